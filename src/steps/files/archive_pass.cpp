// Reading an archive through libarchive, checked entry by entry, written with its disk writer.
#include "archive_pass.h"

#include <archive.h>
#include <archive_entry.h>
#include <climits>
#include <cstring>
#include <filesystem>

#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>

#include "migrate/util/error.h"
#include "migrate/util/units.h"

namespace migrate::steps::files {
namespace {

constexpr std::size_t k_read_block = 1 << 20;
constexpr std::int64_t k_progress_every_ms = 200;
constexpr std::uint64_t k_warnings_said = 10;
constexpr const char* k_not_an_archive = " as an archive (tar, tar.gz, tar.zst or zip)";

// Modes and mtimes are restored, owners are not (see docs/kinds/extract.md). The disk writer
// refuses '..' and writes through symlinks as a second line behind EntryPlacer; it is given
// absolute paths under the staging directory (a chdir would move every thread), so its
// absolute-path refusal cannot be used: EntryPlacer refuses absolute names instead.
constexpr int k_disk_flags = ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                             ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS;

// libarchive converts entry names to the charset of the thread's locale; the process runs in
// "C" (ASCII), where a UTF-8 name from a pax header or a zip cannot be converted. The
// thread's own locale changes nothing for the other steps' threads.
class Utf8Names {
public:
    Utf8Names() : m_locale(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(nullptr))) {
        if (m_locale != nullptr) m_previous = uselocale(m_locale);
    }
    ~Utf8Names() {
        if (m_locale == nullptr) return;
        uselocale(m_previous);
        freelocale(m_locale);
    }
    Utf8Names(const Utf8Names&) = delete;
    Utf8Names& operator=(const Utf8Names&) = delete;

private:
    locale_t m_locale;
    locale_t m_previous = LC_GLOBAL_LOCALE;
};

EntryType type_of(archive_entry* entry) {
    if (archive_entry_hardlink(entry) != nullptr) return EntryType::hardlink;
    switch (archive_entry_filetype(entry)) {
        case AE_IFREG:
            return EntryType::file;
        case AE_IFDIR:
            return EntryType::directory;
        case AE_IFLNK:
            return EntryType::symlink;
        case AE_IFCHR:
        case AE_IFBLK:
            return EntryType::device;
        default:
            return EntryType::other;
    }
}

std::string name_of(archive_entry* entry) {
    const char* name = archive_entry_pathname(entry);
    if (name == nullptr) name = archive_entry_pathname_utf8(entry);
    return name == nullptr ? "" : name;
}

std::string error_of(archive* handle) {
    const char* message = archive_error_string(handle);
    return message != nullptr ? message : "unknown error";
}

}  // namespace

ArchivePass::ArchivePass(kinds::StepContext& context, std::vector<std::string> parts,
                         std::string root, int strip_components)
    : m_context(context),
      m_source(std::move(parts)),
      m_root(std::move(root)),
      m_placer(strip_components) {}

ArchivePass::~ArchivePass() {
    if (m_writer != nullptr) archive_write_free(m_writer);
    if (m_reader != nullptr) archive_read_free(m_reader);
    m_decoded.reset();  // joins the decoding thread before m_source goes
}

ArchiveTotals ArchivePass::run() {
    Utf8Names names;
    open();
    archive_entry* entry = nullptr;
    while (next_entry(entry)) {
        process(entry);
        tick();
    }
    finish_writing();
    m_totals.bytes_in = m_source.total_size();
    return m_totals;
}

void ArchivePass::open() {
    Compression compression = sniff_compression(m_source);
    if (compression != Compression::none)
        m_decoded = std::make_unique<DecodedStream>(make_decoder(compression, m_source));
    else
        m_raw_block.resize(k_read_block);
    m_reader = archive_read_new();
    if (m_reader == nullptr)
        throw StepError("cannot set up the archive reader: out of memory", false);
    // Only the formats extract promises: libarchive's others include mtree, whose "archive"
    // can pull in any file of this machine.
    archive_read_support_format_tar(m_reader);
    archive_read_support_format_gnutar(m_reader);
    archive_read_support_format_zip(m_reader);
    for (auto support : {archive_read_support_filter_xz, archive_read_support_filter_bzip2,
                         archive_read_support_filter_lz4})
        support(m_reader);
    archive_read_set_callback_data(m_reader, this);
    archive_read_set_read_callback(m_reader, read_callback);
    // A zip is read from its central directory at the end when the stream can seek.
    if (!m_decoded) archive_read_set_seek_callback(m_reader, seek_callback);
    if (archive_read_open1(m_reader) != ARCHIVE_OK) fail_reading("cannot read", k_not_an_archive);
    if (m_root.empty()) return;
    m_writer = archive_write_disk_new();
    if (m_writer == nullptr) throw StepError("cannot set up the disk writer: out of memory", false);
    archive_write_disk_set_options(m_writer, k_disk_flags);
}

la_ssize_t ArchivePass::read_callback(archive*, void* self, const void** buffer) {
    return static_cast<ArchivePass*>(self)->read_block(buffer);
}

la_int64_t ArchivePass::seek_callback(archive*, void* self, la_int64_t offset, int whence) {
    return static_cast<ArchivePass*>(self)->seek_to(offset, whence);
}

// No exception may cross libarchive: it is kept, and rethrown when libarchive reports the failure.
la_ssize_t ArchivePass::read_block(const void** buffer) {
    try {
        if (m_decoded) {
            std::string_view block = m_decoded->next();
            *buffer = block.data();
            return static_cast<la_ssize_t>(block.size());
        }
        *buffer = m_raw_block.data();
        return static_cast<la_ssize_t>(m_source.read(m_raw_block.data(), m_raw_block.size()));
    } catch (...) {
        keep_stream_error();
        return ARCHIVE_FATAL;
    }
}

la_int64_t ArchivePass::seek_to(la_int64_t offset, int whence) {
    try {
        auto base = static_cast<la_int64_t>(whence == SEEK_CUR   ? m_source.position()
                                            : whence == SEEK_END ? m_source.total_size()
                                                                 : 0);
        if (base + offset < 0) return ARCHIVE_FATAL;
        m_source.seek(static_cast<std::uint64_t>(base + offset));
        return base + offset;
    } catch (...) {
        keep_stream_error();
        return ARCHIVE_FATAL;
    }
}

void ArchivePass::keep_stream_error() {
    m_stream_error = std::current_exception();
    try {
        std::rethrow_exception(m_stream_error);
    } catch (const std::exception& e) {
        archive_set_error(m_reader, EIO, "%s", e.what());
    } catch (...) {
        archive_set_error(m_reader, EIO, "read error");
    }
}

bool ArchivePass::next_entry(archive_entry*& entry) {
    int status = archive_read_next_header(m_reader, &entry);
    if (status == ARCHIVE_EOF) return false;
    if (status == ARCHIVE_WARN) warn(error_of(m_reader));
    if (status < ARCHIVE_WARN || status == ARCHIVE_RETRY)
        m_totals.entries == 0 ? fail_reading("cannot read", k_not_an_archive)
                              : fail_reading("reading the entry after '" + m_entry + "' in");
    m_entry = name_of(entry);
    return true;
}

void ArchivePass::process(archive_entry* entry) {
    ArchiveEntryName name{m_entry, type_of(entry), ""};
    if (name.type == EntryType::symlink && archive_entry_symlink(entry) != nullptr)
        name.target = archive_entry_symlink(entry);
    if (name.type == EntryType::hardlink) name.target = archive_entry_hardlink(entry);
    PlacedEntry placed = m_placer.place(name);
    ++m_totals.entries;
    if (placed.skipped || m_writer == nullptr) return copy_data(false);
    if (placed.path.empty()) return keep_root_attributes(entry);
    write_entry(entry, placed);
}

// libarchive sets the times of a directory that already exists at once, and the entries
// written into it later change them again: the root's are set after the last entry.
void ArchivePass::keep_root_attributes(archive_entry* entry) {
    m_root_mode = archive_entry_perm(entry);
    if (archive_entry_mtime_is_set(entry))
        m_root_mtime = timespec{archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
    copy_data(false);
}

void ArchivePass::restore_root_attributes() {
    if (m_root_mode && ::chmod(m_root.c_str(), *m_root_mode) != 0)
        warn("cannot set the mode of the destination: " + std::string(std::strerror(errno)));
    if (!m_root_mtime) return;
    timespec times[2] = {*m_root_mtime, *m_root_mtime};
    if (::utimensat(AT_FDCWD, m_root.c_str(), times, 0) != 0)
        warn("cannot set the time of the destination: " + std::string(std::strerror(errno)));
}

void ArchivePass::write_entry(archive_entry* entry, const PlacedEntry& placed) {
    archive_entry_set_pathname(entry, under_root(placed.path).c_str());
    if (!placed.target.empty())
        archive_entry_set_hardlink(entry, under_root(placed.target).c_str());
    int status = archive_write_header(m_writer, entry);
    if (status < ARCHIVE_WARN)
        throw StepError("cannot write '" + m_entry + "': " + error_of(m_writer), false);
    if (status == ARCHIVE_WARN) warn(m_entry + ": " + error_of(m_writer));
    copy_data(status == ARCHIVE_OK || status == ARCHIVE_WARN);
    status = archive_write_finish_entry(m_writer);
    if (status < ARCHIVE_WARN)
        throw StepError("cannot finish '" + m_entry + "': " + error_of(m_writer), false);
    if (status == ARCHIVE_WARN) warn(m_entry + ": " + error_of(m_writer));
}

// Reads the entry's data to its end (so every checksum is verified), writing it when asked.
void ArchivePass::copy_data(bool write) {
    for (;;) {
        const void* block = nullptr;
        std::size_t size = 0;
        la_int64_t offset = 0;
        int status = archive_read_data_block(m_reader, &block, &size, &offset);
        if (status == ARCHIVE_EOF) return;
        // A warning here is damage: libarchive reports a zip entry's CRC mismatch as one.
        if (status != ARCHIVE_OK) fail_reading("reading the data of '" + m_entry + "' in");
        if (write && archive_write_data_block(m_writer, block, size, offset) < ARCHIVE_OK)
            throw StepError("cannot write '" + m_entry + "': " + error_of(m_writer), false);
        m_totals.bytes_out += size;
        tick();
    }
}

void ArchivePass::finish_writing() {
    if (m_writer == nullptr) return;
    // Sets the directories' modes and times, deepest first, now that nothing is written into them.
    if (archive_write_close(m_writer) < ARCHIVE_WARN)
        throw StepError("cannot set the modes and times of the directories: " + error_of(m_writer),
                        false);
    restore_root_attributes();
}

void ArchivePass::tick() {
    if (m_context.cancel.cancelled()) throw StepError("stopped", true);
    std::int64_t now = m_context.services.clock.steady_ms();
    if (now - m_last_progress_ms < k_progress_every_ms) return;
    m_last_progress_ms = now;
    std::uint64_t read = m_source.position();
    std::uint64_t total = m_source.total_size();
    std::uint64_t percent = total == 0 ? 100 : std::min<std::uint64_t>(100, read * 100 / total);
    m_context.events.progress(
        format_bytes(read) + " of " + format_bytes(total) + " (" + std::to_string(percent) +
            "%), " + format_count(m_totals.entries) + (m_totals.entries == 1 ? " file" : " files"),
        {{"bytes", read}, {"bytes_out", m_totals.bytes_out}, {"files", m_totals.entries}});
}

void ArchivePass::warn(const std::string& message) {
    if (++m_totals.warnings <= k_warnings_said) m_context.events.say("warning: " + message);
}

// The stream's own error names the part and what is wrong with it; otherwise libarchive's
// message, with the part being read (decoding runs up to a few MiB ahead of libarchive).
void ArchivePass::fail_reading(const std::string& doing, const std::string& after) const {
    if (m_stream_error) std::rethrow_exception(m_stream_error);
    throw StepError(doing + " " + m_source.current_part() + after + ": " + error_of(m_reader),
                    false);
}

std::string ArchivePass::under_root(const std::string& relative) const {
    std::string path = relative.empty() ? m_root : m_root + "/" + relative;
    // Longer paths make libarchive change the process's working directory, which every
    // thread shares.
    if (path.size() >= PATH_MAX)
        throw StepError("refused archive entry '" + m_entry + "': its path is too long", false);
    return path;
}

}  // namespace migrate::steps::files
