// The download's transfer loop on libcurl's multi interface.
#include "download_session.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <future>
#include <map>
#include <optional>
#include <system_error>

#include "file_hasher.h"
#include "migrate/util/error.h"
#include "migrate/util/partial_file.h"
#include "migrate/util/progress_line.h"
#include "migrate/util/text.h"
#include "migrate/util/token_bucket.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

// Bytes re-read from the server before a resumed range, compared with the disk, so bytes
// left by an earlier attempt are checked rather than trusted.
constexpr std::uint64_t k_resume_overlap = 64 * 1024;
constexpr long k_receive_buffer = 512 * 1024;
constexpr std::size_t k_write_block = 1 << 20;
// Under limit_rate: the bucket saves up at most 100 ms of the rate, and libcurl hands over
// at most 10 ms of it per read (between 16 and 512 KiB), so the step never runs ahead of the
// cap by more than a burst and one read per connection. Each read is written at once, so the
// progress counts what arrived, not what waits in a buffer.
constexpr std::uint64_t k_burst_divisor = 10;
constexpr std::uint64_t k_read_divisor = 100;
constexpr std::uint64_t k_min_burst = 32 << 10;
constexpr std::uint64_t k_min_read = 16 << 10;
// connections: auto: how long every allowed connection must have been receiving before the
// step's rate is judged, and the gain a doubling must bring to be kept up.
constexpr std::int64_t k_growth_window_ms = 250;
constexpr double k_growth_gain = 1.15;

void apply_common_options(CURL* easy, const DownloadOptions& options, char* error) {
    curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(easy, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, 30'000L);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, "migrate/" MIGRATE_VERSION);
    curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    if (options.insecure) {
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options.ca_file.c_str());
}

bool retryable_status(long status) {
    return status == 0 || status == 408 || status == 429 || status >= 500;
}

// 0.5 s, 1 s, 2 s ... at most 15 s before retry number `failures`.
Millis backoff_after(int failures) {
    return std::min<Millis>(Millis(500) * (1 << std::min(failures - 1, 5)), Millis(15'000));
}

struct Multi {
    CURLM* handle = curl_multi_init();
    ~Multi() { curl_multi_cleanup(handle); }
};

// --- probing ------------------------------------------------------------------------------

struct Probe {
    CURL* easy = nullptr;
    DownloadFile* file = nullptr;
    std::string accept_ranges, etag, last_modified;
    int attempts = 0;
    std::int64_t not_before_ms = 0;  // a retry waits for its backoff
    char error[CURL_ERROR_SIZE] = {0};
};

std::size_t on_probe_header(char* data, std::size_t size, std::size_t count, void* user) {
    auto* probe = static_cast<Probe*>(user);
    std::string line(data, size * count);
    std::size_t colon = line.find(':');
    if (colon != std::string::npos) {
        std::string name = to_lower(line.substr(0, colon));
        std::string value = line.substr(colon + 1);
        while (!value.empty() &&
               (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
            value.pop_back();
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        if (name == "accept-ranges") probe->accept_ranges = to_lower(value);
        if (name == "etag") probe->etag = value;
        if (name == "last-modified") probe->last_modified = value;
    } else if (line.rfind("HTTP/", 0) == 0) {
        probe->accept_ranges.clear();  // a redirect's headers do not count
        probe->etag.clear();
        probe->last_modified.clear();
    }
    return size * count;
}

void start_probe(CURLM* multi, Probe& probe, const DownloadOptions& options) {
    probe.easy = curl_easy_init();
    apply_common_options(probe.easy, options, probe.error);
    curl_easy_setopt(probe.easy, CURLOPT_URL, probe.file->url.c_str());
    curl_easy_setopt(probe.easy, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(probe.easy, CURLOPT_HEADERFUNCTION, on_probe_header);
    curl_easy_setopt(probe.easy, CURLOPT_HEADERDATA, &probe);
    curl_easy_setopt(probe.easy, CURLOPT_PRIVATE, &probe);
    curl_easy_setopt(probe.easy, CURLOPT_TIMEOUT_MS, 60'000L);
    ++probe.attempts;
    curl_multi_add_handle(multi, probe.easy);
}

}  // namespace

void probe_files(std::vector<DownloadFile>& files, const DownloadOptions& options,
                 CancelToken& cancel, Clock& clock) {
    Multi multi;
    std::deque<Probe> probes;
    std::vector<Probe*> waiting;
    std::size_t next = 0;
    int active = 0;  // probes under way or waiting to be retried
    auto launch = [&] {
        while (active < options.max_connections && next < files.size()) {
            probes.push_back(Probe{nullptr, &files[next++], {}, {}, {}, 0, 0, {0}});
            start_probe(multi.handle, probes.back(), options);
            ++active;
        }
    };
    launch();
    while (active > 0) {
        if (cancel.cancelled()) {
            for (Probe& probe : probes)
                if (probe.easy != nullptr)
                    curl_multi_remove_handle(multi.handle, probe.easy),
                        curl_easy_cleanup(probe.easy);
            throw StepError("stopped while asking the server for the files' sizes", true);
        }
        int running = 0;
        curl_multi_perform(multi.handle, &running);
        int left = 0;
        while (CURLMsg* message = curl_multi_info_read(multi.handle, &left)) {
            if (message->msg != CURLMSG_DONE) continue;
            Probe* probe = nullptr;
            curl_easy_getinfo(message->easy_handle, CURLINFO_PRIVATE,
                              reinterpret_cast<char**>(&probe));
            CURLcode code = message->data.result;
            long status = 0;
            curl_off_t length = -1;
            curl_easy_getinfo(probe->easy, CURLINFO_RESPONSE_CODE, &status);
            curl_easy_getinfo(probe->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
            std::string error = probe->error[0] ? probe->error : curl_easy_strerror(code);
            curl_multi_remove_handle(multi.handle, probe->easy);
            curl_easy_cleanup(probe->easy);
            probe->easy = nullptr;
            --active;
            DownloadFile& file = *probe->file;
            bool file_scheme = file.url.rfind("file:", 0) == 0;
            if (code == CURLE_OK || status == 405 ||
                status == 501) {  // some servers refuse HEAD: fetch without a size
                file.size = code == CURLE_OK && length >= 0 ? static_cast<std::uint64_t>(length)
                                                            : k_unknown_size;
                file.ranges = code == CURLE_OK && (probe->accept_ranges == "bytes" || file_scheme);
                file.validator = !probe->etag.empty() ? probe->etag : probe->last_modified;
                if (file_scheme) file.validator = probe->last_modified;
            } else if (retryable_status(status) && probe->attempts <= options.retries) {
                probe->not_before_ms = clock.steady_ms() + backoff_after(probe->attempts).count();
                waiting.push_back(probe);
                ++active;
            } else {
                for (Probe& other : probes)
                    if (other.easy != nullptr)
                        curl_multi_remove_handle(multi.handle, other.easy),
                            curl_easy_cleanup(other.easy);
                throw StepError(
                    file.name + ": " + file.url + " " +
                        (status >= 400 ? "answered HTTP " + std::to_string(status) : error),
                    retryable_status(status));
            }
        }
        for (auto it = waiting.begin(); it != waiting.end();) {
            if ((*it)->not_before_ms > clock.steady_ms()) {
                ++it;
                continue;
            }
            start_probe(multi.handle, **it, options);
            it = waiting.erase(it);
        }
        launch();
        if (active > 0) curl_multi_poll(multi.handle, nullptr, 0, 100, nullptr);
    }
}

namespace {

// --- the transfer loop --------------------------------------------------------------------

class Session;

struct Transfer {
    Session* session = nullptr;
    CURL* easy = nullptr;
    int file = 0;
    int segment = 0;
    bool ranged = false;  // a Range header was sent
    bool status_checked = false;
    std::uint64_t verify_offset = 0;  // overlap still to compare with the disk
    std::uint64_t verify_remaining = 0;
    bool overlap_mismatch = false;
    bool range_ignored = false;
    bool filled = false;     // the segment got all its bytes (the rest is ignored)
    bool metered = false;    // draws from limit_rate's budget (a network transfer)
    bool paused = false;     // waiting for that budget
    bool receiving = false;  // its first body bytes came (connected, asked, answered)
    std::uint64_t written = 0;
    std::vector<char> buffer;       // received, not yet written
    std::int64_t last_byte_ms = 0;  // for the stall timeout
    std::string failure;            // set by the write callback when it stops the transfer
    char error[CURL_ERROR_SIZE] = {0};
};

struct Pending {
    int file;
    int segment;
    std::int64_t not_before_ms;
};

class Session {
public:
    Session(std::vector<DownloadFile>& files, const DownloadOptions& options,
            kinds::StepContext& context, DownloadTotals& totals)
        : m_files(files),
          m_options(options),
          m_context(context),
          m_totals(totals),
          m_clock(context.services.clock),
          m_rate(m_clock),
          m_per_file_limit(options.grow_connections
                               ? std::min(options.connections, options.max_connections)
                               : options.connections),
          m_total_limit(options.grow_connections ? m_per_file_limit : options.max_connections),
          m_growing(options.grow_connections && m_total_limit < options.max_connections) {
        if (options.limit_rate > 0) {
            m_budget.emplace(options.limit_rate,
                             std::max(k_min_burst, options.limit_rate / k_burst_divisor), m_clock);
            m_read_size = std::clamp<std::uint64_t>(options.limit_rate / k_read_divisor, k_min_read,
                                                    k_receive_buffer);
        }
    }
    ~Session() { drop_transfers(); }

    void run() {
        open_files();
        while (!all_finished()) {
            if (m_context.cancel.cancelled()) throw StepError("stopped", true);
            start_transfers();
            resume_paused();
            int running = 0;
            curl_multi_perform(m_multi.handle, &running);
            int left = 0;
            while (CURLMsg* message = curl_multi_info_read(m_multi.handle, &left))
                if (message->msg == CURLMSG_DONE)
                    on_done(message->easy_handle, message->data.result);
            drop_stalled();
            grow_connections();
            report_progress(false);
            checkpoint_in_background();
            if (!all_finished()) curl_multi_poll(m_multi.handle, nullptr, 0, poll_ms(), nullptr);
        }
        report_progress(true);
        // Every part that stayed corrupt is named, after the good ones were completed.
        if (!m_corrupt.empty()) throw StepError(join(m_corrupt, "; "), false);
    }

    // Called on the way out after a failure: progress goes into the journal, partial files stay.
    void save_after_failure() {
        drop_transfers();
        try {
            save_checkpoint();
        } catch (const std::exception&) {
            // the failure being reported matters more than the checkpoint
        }
        for (auto& partial : m_partials)
            if (partial) partial->keep();
    }

    std::size_t on_body(const char* data, std::size_t size, Transfer& transfer);

private:
    bool all_finished() const {
        return std::all_of(m_files.begin(), m_files.end(),
                           [](const DownloadFile& f) { return f.finished || f.given_up; });
    }
    DigestAlgorithm algorithm_of(const DownloadFile& file) const {
        return file.checksum ? file.checksum->algorithm : DigestAlgorithm::sha256;
    }

    void open_files();
    void restart_file(int index);
    void queue_file(int index);
    void start_transfers();
    void start_transfer(const Pending& pending);
    bool split_busiest();
    void grow_connections();
    bool flush(Transfer& transfer);
    // Every second at first, then every 5 s: a resume re-fetches at most that much, and a
    // long download does not fill the journal with checkpoints.
    std::int64_t checkpoint_interval() const {
        std::int64_t base = m_options.checkpoint_every.count();
        return m_clock.steady_ms() - m_started_ms < 30'000 ? base : 5 * base;
    }
    void on_done(CURL* easy, CURLcode code, const std::string& stalled = "");
    void drop_stalled();
    void segment_failed(Transfer& transfer, long status, const std::string& reason);
    void file_complete(int index);
    void save_checkpoint();
    void checkpoint_in_background();
    void report_progress(bool force);
    void drop_transfers();
    void resume_paused();
    void forget_paused(CURL* easy);
    int poll_ms();

    std::vector<DownloadFile>& m_files;
    const DownloadOptions& m_options;
    kinds::StepContext& m_context;
    DownloadTotals& m_totals;
    Clock& m_clock;
    RateMeter m_rate;  // bytes fetched over the last seconds
    Multi m_multi;
    std::vector<std::unique_ptr<PartialFile>> m_partials;
    std::vector<std::string> m_corrupt;  // parts that stayed corrupt after every refetch
    FileHasher m_hasher;  // after m_partials: its thread stops before their files close
    std::vector<int> m_active_per_file;
    std::map<CURL*, std::unique_ptr<Transfer>> m_transfers;
    std::deque<Pending> m_pending;
    std::optional<TokenBucket> m_budget;            // limit_rate: one budget for every connection
    std::deque<CURL*> m_paused;                     // transfers waiting for it, first paused first
    std::uint64_t m_read_size = k_receive_buffer;   // libcurl's most per write callback
    std::map<std::pair<int, int>, int> m_failures;  // consecutive failures of a segment
    // A periodic checkpoint whose files are being synced on a thread of its own: the state
    // it records, and the sync (0, or the errno and the file that failed).
    struct BackgroundCheckpoint {
        nlohmann::ordered_json state;
        std::future<std::pair<int, std::string>> synced;
    };
    std::optional<BackgroundCheckpoint> m_background;
    int m_per_file_limit;  // connections a file may have now
    int m_total_limit;     // connections in all now
    // connections: auto: whether they may still double, the window being measured, and the
    // rate before the last doubling.
    bool m_growing;
    std::int64_t m_window_ms = m_clock.steady_ms();
    std::uint64_t m_window_bytes = 0;
    double m_rate_before_growth = 0;
    // Bytes received from the network, written or still in a buffer: what the growth's
    // windows measure (bytes_fetched counts a buffer only once it is written, a MiB later).
    std::uint64_t m_received = 0;
    std::int64_t m_started_ms = m_clock.steady_ms();
    std::int64_t m_last_checkpoint = m_clock.steady_ms();
    std::int64_t m_last_progress = 0;
    std::uint64_t m_bytes_at_start = 0;
};

std::size_t on_body_callback(char* data, std::size_t size, std::size_t count, void* user) {
    auto* transfer = static_cast<Transfer*>(user);
    return transfer->session->on_body(data, size * count, *transfer);
}

std::size_t Session::on_body(const char* data, std::size_t size, Transfer& transfer) {
    if (transfer.metered) {
        // Out of budget: libcurl keeps these bytes, stops reading the socket (so TCP slows
        // the server down) and hands them over again once resume_paused() lets it.
        if (!m_budget->available()) {
            transfer.paused = true;
            m_paused.push_back(transfer.easy);
            return CURL_WRITEFUNC_PAUSE;
        }
        m_budget->take(size);
    }
    m_received += size;
    transfer.receiving = true;
    DownloadFile& file = m_files[transfer.file];
    PartialFile& partial = *m_partials[transfer.file];
    if (transfer.ranged && !transfer.status_checked) {
        transfer.status_checked = true;
        long status = 0;
        curl_easy_getinfo(transfer.easy, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) {  // the whole file came instead of the range asked for
            transfer.range_ignored = true;
            return 0;
        }
    }
    std::size_t used = 0;
    if (transfer.verify_remaining > 0) {
        std::size_t compare =
            static_cast<std::size_t>(std::min<std::uint64_t>(size, transfer.verify_remaining));
        std::string on_disk(compare, '\0');
        ssize_t got = ::pread(partial.fd(), on_disk.data(), compare,
                              static_cast<off_t>(transfer.verify_offset));
        if (got != static_cast<ssize_t>(compare) ||
            on_disk.compare(0, compare, data, compare) != 0) {
            transfer.overlap_mismatch = true;
            return 0;
        }
        transfer.verify_offset += compare;
        transfer.verify_remaining -= compare;
        used = compare;
    }
    Segment& segment = file.segments[transfer.segment];
    std::size_t rest = size - used;
    std::uint64_t received = segment.next_byte() + transfer.buffer.size();
    std::uint64_t room =
        segment.end == k_unknown_size ? rest : segment.end - std::min(segment.end, received);
    std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(rest, room));
    transfer.buffer.insert(transfer.buffer.end(), data + used, data + used + take);
    transfer.last_byte_ms = m_clock.steady_ms();
    bool filled = take < rest || (segment.end != k_unknown_size && received + take >= segment.end);
    std::size_t block = transfer.metered ? m_read_size : k_write_block;  // metered: at once
    if ((transfer.buffer.size() >= block || filled) && !flush(transfer)) return 0;
    if (take < rest) {
        transfer.filled = true;
        return 0;
    }
    return size;
}

// Writes what a connection has received since its last write: libcurl hands over 16 KiB
// at a time, and a write (and a wake-up of the hasher) per 16 KiB cost more than the copy.
bool Session::flush(Transfer& transfer) {
    if (transfer.buffer.empty()) return true;
    DownloadFile& file = m_files[transfer.file];
    Segment& segment = file.segments[transfer.segment];
    PartialFile& partial = *m_partials[transfer.file];
    try {
        partial.pwrite(transfer.buffer.data(), transfer.buffer.size(), segment.next_byte());
    } catch (const FileError& e) {
        transfer.failure = e.what();
        transfer.buffer.clear();
        return false;
    }
    std::size_t size = transfer.buffer.size();
    transfer.buffer.clear();
    segment.done += size;
    transfer.written += size;
    m_totals.bytes_fetched += size;
    m_hasher.advance(transfer.file, file.contiguous());
    return true;
}

void Session::open_files() {
    m_partials.resize(m_files.size());
    m_active_per_file.assign(m_files.size(), 0);
    for (std::size_t i = 0; i < m_files.size(); ++i) {
        DownloadFile& file = m_files[i];
        m_bytes_at_start +=
            file.finished ? (file.size == k_unknown_size ? 0 : file.size) : file.done_bytes();
        if (file.finished) continue;
        std::filesystem::path path = std::filesystem::path(m_options.directory) / file.name;
        std::filesystem::create_directories(path.parent_path());
        bool keep = file.done_bytes() > 0;
        m_partials[i] = std::make_unique<PartialFile>(
            path.string(), keep ? PartialFile::Open::keep : PartialFile::Open::truncate);
        if (file.segments.empty())
            file.segments =
                plan_segments(file.size, file.ranges, m_options.connections, m_options.min_segment);
        m_hasher.start(static_cast<int>(i), m_partials[i]->fd(), algorithm_of(file));
        m_hasher.advance(static_cast<int>(i), file.contiguous());
        queue_file(static_cast<int>(i));
    }
}

void Session::queue_file(int index) {
    DownloadFile& file = m_files[index];
    bool any = false;
    for (std::size_t s = 0; s < file.segments.size(); ++s)
        if (!file.segments[s].complete() || file.segments[s].end == k_unknown_size) {
            m_pending.push_back({index, static_cast<int>(s), 0});
            any = true;
        }
    if (!any) file_complete(index);  // everything was on disk already
}

// Back to byte 0: new plan, empty file, hash from the start.
void Session::restart_file(int index) {
    DownloadFile& file = m_files[index];
    for (auto it = m_transfers.begin(); it != m_transfers.end();) {
        if (it->second->file == index) {
            curl_multi_remove_handle(m_multi.handle, it->first);
            curl_easy_cleanup(it->first);
            forget_paused(it->first);
            --m_active_per_file[index];
            it = m_transfers.erase(it);
        } else {
            ++it;
        }
    }
    m_pending.erase(std::remove_if(m_pending.begin(), m_pending.end(),
                                   [&](const Pending& p) { return p.file == index; }),
                    m_pending.end());
    file.segments =
        plan_segments(file.size, file.ranges, m_options.connections, m_options.min_segment);
    if (::ftruncate(m_partials[index]->fd(), 0) != 0)
        throw StepError("cannot truncate " + m_partials[index]->partial_path(), false);
    m_hasher.start(index, m_partials[index]->fd(), algorithm_of(file));
    queue_file(index);
}

// Paused transfers take turns: each resumed one takes a read and goes to the back of the
// queue if the budget is spent again. Resuming may call on_body at once, inside
// curl_easy_pause.
void Session::resume_paused() {
    while (!m_paused.empty() && m_budget->available()) {
        CURL* easy = m_paused.front();
        m_paused.pop_front();
        auto it = m_transfers.find(easy);
        if (it == m_transfers.end() || !it->second->paused) continue;
        it->second->paused = false;
        it->second->last_byte_ms = m_clock.steady_ms();  // a stall is the server's silence only
        curl_easy_pause(easy, CURLPAUSE_CONT);
    }
}

void Session::forget_paused(CURL* easy) {
    m_paused.erase(std::remove(m_paused.begin(), m_paused.end(), easy), m_paused.end());
}

// A paused transfer has no socket for libcurl to watch: wake when the budget allows a read.
int Session::poll_ms() {
    if (m_paused.empty()) return 100;
    return static_cast<int>(std::clamp<std::int64_t>(m_budget->wait_ms(), 1, 100));
}

void Session::start_transfers() {
    std::int64_t now = m_clock.steady_ms();
    for (auto it = m_pending.begin();
         it != m_pending.end() && static_cast<int>(m_transfers.size()) < m_total_limit;) {
        if (it->not_before_ms > now || m_active_per_file[it->file] >= m_per_file_limit) {
            ++it;
            continue;
        }
        Pending pending = *it;
        it = m_pending.erase(it);
        start_transfer(pending);
    }
    while (static_cast<int>(m_transfers.size()) < m_total_limit && m_pending.empty() &&
           split_busiest()) {
    }
}

// With a connection free and nothing left to start, the running range with the most bytes
// to go is cut in two and a new connection takes the second half.
bool Session::split_busiest() {
    Transfer* busiest = nullptr;
    std::uint64_t most = 0;
    for (const auto& [easy, transfer] : m_transfers) {
        const DownloadFile& file = m_files[transfer->file];
        const Segment& segment = file.segments[transfer->segment];
        if (!file.ranges || segment.end == k_unknown_size ||
            m_active_per_file[transfer->file] >= m_per_file_limit)
            continue;
        std::uint64_t left =
            segment.end - std::min(segment.end, segment.next_byte() + transfer->buffer.size());
        if (left > most) {
            most = left;
            busiest = transfer.get();
        }
    }
    if (busiest == nullptr) return false;
    DownloadFile& file = m_files[busiest->file];
    Segment& segment = file.segments[busiest->segment];
    Segment received = segment;  // the split must fall after the bytes still in the buffer
    received.done += busiest->buffer.size();
    std::optional<Segment> tail = split_segment(received, m_options.min_segment);
    if (!tail) return false;
    segment.end = received.end;
    file.segments.push_back(*tail);
    start_transfer({busiest->file, static_cast<int>(file.segments.size() - 1), 0});
    return true;
}

// connections: auto. Once every allowed connection has been receiving for a window (a new
// one's connect and TLS handshake are not counted against it), the step's
// rate is compared with the rate before the connections last doubled: a server that caps
// each connection gives twice as much to twice as many, so they double again, up to
// max_connections; a full link or a full disk gives no more, and the growth ends there
// (the connections already open stay). A step under limit_rate does not grow past it.
void Session::grow_connections() {
    if (!m_growing) return;
    std::int64_t now = m_clock.steady_ms();
    bool all_busy = static_cast<int>(m_transfers.size()) >= m_total_limit && m_paused.empty() &&
                    std::all_of(m_transfers.begin(), m_transfers.end(), [](const auto& entry) {
                        return entry.second->receiving && !entry.second->filled;
                    });
    if (!all_busy) {  // starting, or nothing left to split: judge a full window only
        m_window_ms = now;
        m_window_bytes = m_received;
        return;
    }
    if (now - m_window_ms < k_growth_window_ms) return;
    double rate = static_cast<double>(m_received - m_window_bytes) * 1000.0 /
                  static_cast<double>(now - m_window_ms);
    m_window_ms = now;
    m_window_bytes = m_received;
    std::string was = std::to_string(m_total_limit) + " connections gave " +
                      format_bytes(static_cast<std::uint64_t>(rate)) + "/s";
    if (m_rate_before_growth > 0 && rate < m_rate_before_growth * k_growth_gain) {
        m_growing = false;
        m_context.events.say("connections: " + was + ", no more than " +
                             format_bytes(static_cast<std::uint64_t>(m_rate_before_growth)) +
                             "/s with half as many: staying at " + std::to_string(m_total_limit));
        return;
    }
    if (m_options.limit_rate > 0 && rate >= 0.9 * static_cast<double>(m_options.limit_rate)) {
        m_growing = false;  // limit_rate, not the server, holds the rate
        return;
    }
    m_rate_before_growth = rate;
    m_total_limit = std::min(m_options.max_connections, m_total_limit * 2);
    m_per_file_limit = m_total_limit;
    m_growing = m_total_limit < m_options.max_connections;
    m_context.events.say("connections: " + was + "; opening up to " +
                         std::to_string(m_total_limit));
}

void Session::start_transfer(const Pending& pending) {
    DownloadFile& file = m_files[pending.file];
    Segment& segment = file.segments[pending.segment];
    auto transfer = std::make_unique<Transfer>();
    transfer->session = this;
    transfer->file = pending.file;
    transfer->segment = pending.segment;
    std::uint64_t from = segment.next_byte();
    if (segment.done > 0 && !file.ranges) {  // cannot continue without Range: from the start
        segment.done = 0;
        from = segment.start;
    }
    std::uint64_t overlap = file.ranges ? std::min(segment.done, k_resume_overlap) : 0;
    from -= overlap;
    transfer->verify_offset = from;
    transfer->verify_remaining = overlap;
    CURL* easy = curl_easy_init();
    transfer->easy = easy;
    apply_common_options(easy, m_options, transfer->error);
    curl_easy_setopt(easy, CURLOPT_URL, file.url.c_str());
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body_callback);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer.get());
    curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer.get());
    bool whole = from == 0 && (segment.end == k_unknown_size || segment.end == file.size);
    if (file.ranges && !whole) {
        std::string range = std::to_string(from) + "-" +
                            (segment.end == k_unknown_size ? "" : std::to_string(segment.end - 1));
        curl_easy_setopt(easy, CURLOPT_RANGE, range.c_str());
        transfer->ranged = true;
    }
    // A file:// copy is local and libcurl reads it whole in one call: not metered.
    transfer->metered = m_budget.has_value() && file.url.rfind("file:", 0) != 0;
    curl_easy_setopt(easy, CURLOPT_BUFFERSIZE,
                     transfer->metered ? static_cast<long>(m_read_size) : k_receive_buffer);
    transfer->last_byte_ms = m_clock.steady_ms();
    curl_multi_add_handle(m_multi.handle, easy);
    ++m_active_per_file[pending.file];
    m_transfers[easy] = std::move(transfer);
    m_totals.connections = std::max(m_totals.connections, static_cast<int>(m_transfers.size()));
}

// A connection that received nothing for stall_timeout is dropped and its range retried;
// libcurl's low-speed check averages over a window and reacts too late to a sudden stall.
void Session::drop_stalled() {
    std::int64_t now = m_clock.steady_ms();
    std::vector<CURL*> stalled;
    for (const auto& [easy, transfer] : m_transfers)
        if (!transfer->paused && now - transfer->last_byte_ms > m_options.stall_timeout.count())
            stalled.push_back(easy);
    for (CURL* easy : stalled)
        on_done(easy, CURLE_OPERATION_TIMEDOUT,
                "stalled: no byte for " + format_duration(m_options.stall_timeout));
}

void Session::on_done(CURL* easy, CURLcode code, const std::string& stalled) {
    auto it = m_transfers.find(easy);
    if (it == m_transfers.end()) return;
    std::unique_ptr<Transfer> transfer = std::move(it->second);
    m_transfers.erase(it);
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    std::string error = !stalled.empty()             ? stalled
                        : !transfer->failure.empty() ? transfer->failure
                        : transfer->error[0]         ? transfer->error
                                                     : curl_easy_strerror(code);
    curl_multi_remove_handle(m_multi.handle, easy);
    curl_easy_cleanup(easy);
    forget_paused(easy);
    --m_active_per_file[transfer->file];
    flush(*transfer);  // bytes received before an error are good bytes
    DownloadFile& file = m_files[transfer->file];
    Segment& segment = file.segments[transfer->segment];
    if (!transfer->failure.empty()) throw StepError(file.name + ": " + transfer->failure, false);
    if (transfer->overlap_mismatch) {
        m_context.events.say(file.name + ": the bytes kept from the earlier attempt before byte " +
                             std::to_string(segment.next_byte()) +
                             " differ from the server's; fetching the file again");
        restart_file(transfer->file);
        return;
    }
    if (transfer->range_ignored) {
        m_context.events.say(
            file.name +
            ": the server ignored the range request; fetching the file on one connection");
        file.ranges = false;
        restart_file(transfer->file);
        return;
    }
    if (stalled.empty() && (code == CURLE_OK || transfer->filled)) {
        if (segment.end == k_unknown_size) {
            segment.end = segment.next_byte();
            file.size = segment.end;
        }
        if (segment.complete()) {
            m_failures.erase({transfer->file, transfer->segment});
            // A segment's bytes may all be written before its connection reports done: wait
            // for the last connection of the file.
            if (m_active_per_file[transfer->file] == 0 &&
                std::all_of(file.segments.begin(), file.segments.end(),
                            [](const Segment& s) { return s.complete(); }))
                file_complete(transfer->file);
            return;
        }
        error = "the connection closed after " + std::to_string(segment.done) + " of " +
                std::to_string(segment.end - segment.start) + " bytes";
    }
    if (transfer->written > 0)
        m_failures.erase({transfer->file, transfer->segment});  // it made progress
    segment_failed(*transfer, status, error);
}

void Session::segment_failed(Transfer& transfer, long status, const std::string& error) {
    DownloadFile& file = m_files[transfer.file];
    const Segment& segment = file.segments[transfer.segment];
    std::string reason = status >= 400 ? "HTTP " + std::to_string(status) : error;
    if (status >= 400 && !retryable_status(status))  // 404, 403...: asking again will not help
        throw StepError(file.name + ": " + file.url + " answered " + reason, false);
    int& failures = m_failures[{transfer.file, transfer.segment}];
    if (++failures > m_options.retries)
        throw StepError(file.name + ": gave up after " + std::to_string(m_options.retries) +
                            " retries at byte " + std::to_string(segment.next_byte()) + ": " +
                            reason,
                        true);
    ++m_totals.retries;
    Millis backoff = backoff_after(failures);
    m_context.events.say("retry  " + file.name + " from byte " +
                         std::to_string(segment.next_byte()) + " in " + format_duration(backoff) +
                         " (" + reason + ")");
    m_pending.push_front({transfer.file, transfer.segment, m_clock.steady_ms() + backoff.count()});
}

void Session::file_complete(int index) {
    DownloadFile& file = m_files[index];
    std::string digest = m_hasher.finish(index);
    if (file.checksum && digest != file.checksum->hex) {
        std::string algorithm = digest_name(file.checksum->algorithm);
        if (file.refetches < m_options.refetch) {
            ++file.refetches;
            m_totals.bytes_refetched += file.size;
            m_totals.refetched.push_back({{"file", file.name},
                                          {"bytes", file.size},
                                          {"expected", file.checksum->hex},
                                          {"got", digest}});
            m_context.events.say(file.name + ": " + algorithm + " mismatch (expected " +
                                 file.checksum->hex + ", got " + digest +
                                 "); fetching this part again (" + std::to_string(file.refetches) +
                                 " of " + std::to_string(m_options.refetch) + ")");
            restart_file(index);
            save_checkpoint();
            return;
        }
        file.segments.clear();  // nothing of it may be trusted by a resume
        ::unlink(m_partials[index]->partial_path().c_str());
        m_partials[index].reset();
        file.given_up = true;
        m_corrupt.push_back(file.name + ": " + algorithm + " mismatch after " +
                            std::to_string(file.refetches + 1) + " fetches (expected " +
                            file.checksum->hex + ", got " + digest + ") from " + file.url +
                            "; the corrupt file was deleted");
        m_context.events.say(m_corrupt.back() + "; the other parts go on");
        save_checkpoint();
        return;
    }
    try {
        m_partials[index]->commit();
    } catch (const FileError& e) {
        throw StepError(file.name + ": " + e.what(), false);
    }
    m_partials[index].reset();
    file.finished = true;
    m_totals.digests[file.name] = digest;
    save_checkpoint();
}

void Session::save_checkpoint() {
    if (m_background) {  // superseded by this one, which syncs everything itself
        m_background->synced.wait();
        m_background.reset();
    }
    nlohmann::ordered_json state = download_state(m_files);
    for (auto& partial : m_partials)  // the bytes the state counts must be on disk first
        if (partial) partial->sync();
    m_context.events.checkpoint(state);
    m_last_checkpoint = m_clock.steady_ms();
}

// The periodic checkpoint, without stalling the transfers: the state is taken now (it
// counts only bytes already written), the files are synced on another thread (on copies of
// their descriptors), and the record goes into the journal once the sync has ended, so it
// never claims a byte that is not on disk. A sync of a fast download's unwritten megabytes
// on this thread held every connection for as long as the disk took.
void Session::checkpoint_in_background() {
    std::int64_t now = m_clock.steady_ms();
    if (m_background) {
        if (m_background->synced.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
            return;
        auto [error, path] = m_background->synced.get();
        nlohmann::ordered_json state = std::move(m_background->state);
        m_background.reset();
        if (error != 0) throw FileError("cannot sync " + path, path, std::strerror(error), false);
        m_context.events.checkpoint(state);
        m_last_checkpoint = now;
        return;
    }
    if (now - m_last_checkpoint < checkpoint_interval()) return;
    std::vector<std::pair<int, std::string>> files;
    for (auto& partial : m_partials) {
        if (!partial) continue;
        int copy = ::fcntl(partial->fd(), F_DUPFD_CLOEXEC, 0);
        if (copy < 0) {
            for (auto& [fd, path] : files) ::close(fd);
            return save_checkpoint();  // no descriptor to spare: the checkpoint as it was
        }
        files.emplace_back(copy, partial->partial_path());
    }
    m_background.emplace();
    m_background->state = download_state(m_files);
    m_background->synced = std::async(std::launch::async, [files = std::move(files)] {
        std::pair<int, std::string> result{0, ""};
        for (const auto& [fd, path] : files) {
            if (result.first == 0 && ::fdatasync(fd) != 0) result = {errno, path};
            ::close(fd);
        }
        return result;
    });
}

void Session::report_progress(bool force) {
    std::int64_t now = m_clock.steady_ms();
    if (!force && now - m_last_progress < 250) return;
    m_last_progress = now;
    std::uint64_t total = 0, done = 0;
    bool known = true;
    int finished = 0;
    for (const DownloadFile& file : m_files) {
        if (file.size == k_unknown_size)
            known = false;
        else
            total += file.size;
        done += file.finished ? (file.size == k_unknown_size ? 0 : file.size) : file.done_bytes();
        finished += file.finished ? 1 : 0;
    }
    double rate = m_rate.sample(m_totals.bytes_fetched);
    std::string message = known && total > 0 ? progress_bar(done, total) : format_bytes(done);
    message += rate_and_eta(rate, done, total, known);
    message += ", " + std::to_string(finished) + " of " + std::to_string(m_files.size()) +
               " files, " + std::to_string(m_transfers.size()) + " connections";
    m_context.events.progress(message, {{"bytes", done},
                                        {"bytes_total", known ? nlohmann::ordered_json(total)
                                                              : nlohmann::ordered_json(nullptr)},
                                        {"rate", static_cast<std::uint64_t>(rate)},
                                        {"files_done", finished}});
}

void Session::drop_transfers() {
    for (auto& [easy, transfer] : m_transfers) {
        if (m_partials[transfer->file]) flush(*transfer);
        curl_multi_remove_handle(m_multi.handle, easy);
        curl_easy_cleanup(easy);
    }
    m_transfers.clear();
    m_paused.clear();
}

}  // namespace

void run_download(std::vector<DownloadFile>& files, const DownloadOptions& options,
                  kinds::StepContext& context, DownloadTotals& totals) {
    Session session(files, options, context, totals);
    try {
        session.run();
    } catch (...) {
        session.save_after_failure();
        throw;
    }
}

}  // namespace migrate::steps::files
