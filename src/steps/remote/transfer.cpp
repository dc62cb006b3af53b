// transfer: a file or a directory to the hosts of a pattern (push) or from them (pull) over the
// OpenSSH client: rsync where both sides have it (resumable: an interrupted file waits in a
// partial directory and the next attempt, or a resume, continues from it), scp where the far
// side lacks it (into a temporary name renamed once checked). Each copy's SHA-256 is compared
// with its source's; a directory is compared file by file against a manifest.
#include <unistd.h>

#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <sstream>

#include "../families.h"
#include "fanout.h"
#include "migrate/steps/files/checksums.h"
#include "migrate/util/digest.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"
#include "migrate/util/units.h"

namespace migrate::steps::remote {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// rsync keeps an interrupted file here, inside the destination's directory, until the next
// attempt continues it; scp writes beside the destination under this suffix.
constexpr const char* k_partial_dir = ".migrate-partial";
constexpr const char* k_scp_suffix = ".migrate-partial";
constexpr const char* k_mismatch_suffix = ".migrate-mismatch";

enum class Method { rsync, scp };

const char* method_name(Method method) { return method == Method::rsync ? "rsync" : "scp"; }

// The source as hashed on this machine (push), or a copy as received (pull).
struct LocalTree {
    bool directory = false;
    std::uint64_t bytes = 0;
    std::size_t files = 0;
    std::string sha256;    // a file's
    std::string manifest;  // a directory's: sha256sum's format, names relative to it
};

bool on_path(const std::string& program) {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && ::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    return false;
}

// The regular files under `root`, relative, sorted (a manifest's order).
std::vector<std::string> files_under(const fs::path& root) {
    std::vector<std::string> names;
    for (auto it = fs::recursive_directory_iterator(root); it != fs::recursive_directory_iterator();
         ++it)
        if (it->symlink_status().type() == fs::file_type::regular)
            names.push_back(fs::relative(it->path(), root).generic_string());
    std::sort(names.begin(), names.end());
    return names;
}

LocalTree hash_local(const std::string& path, CancelToken& cancel) {
    LocalTree tree;
    std::error_code error;
    fs::file_status status = fs::status(path, error);
    if (error || !fs::exists(status))
        throw StepError("'" + path + "' does not exist on this machine", false);
    auto keep_going = [&](std::uint64_t) { return !cancel.cancelled(); };
    if (!fs::is_directory(status)) {
        tree.bytes = fs::file_size(path);
        tree.files = 1;
        tree.sha256 = hash_file(path, DigestAlgorithm::sha256, keep_going);
        return tree;
    }
    tree.directory = true;
    for (const std::string& name : files_under(path)) {
        std::string full = (fs::path(path) / name).string();
        std::string hex = hash_file(full, DigestAlgorithm::sha256, keep_going);
        if (cancel.cancelled()) break;
        tree.bytes += fs::file_size(full);
        ++tree.files;
        tree.manifest += files::checksum_list_line(name, hex);
    }
    return tree;
}

// "path/to/" + "file" for a destination that names a directory to put a file in.
std::string destination_path(const std::string& to, const std::string& from, bool directory) {
    if (!directory && !to.empty() && to.back() == '/')
        return to + fs::path(from).filename().string();
    std::string path = to;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return path;
}

std::string parent_of(const std::string& path) {
    std::string parent = fs::path(path).parent_path().string();
    return parent.empty() ? "." : parent;
}

// rsync's --info=progress2 line, the newest of those its '\r's separate: "  1,234,567  12% ...".
std::optional<std::uint64_t> rsync_progress_bytes(const std::string& last_line) {
    std::string segment = last_line;
    std::size_t cut = segment.find_last_of('\r', segment.size() > 1 ? segment.size() - 2 : 0);
    if (cut != std::string::npos) segment = segment.substr(cut + 1);
    std::string digits;
    for (char c : trim(segment)) {
        if (c == ',') continue;
        if (!std::isdigit(static_cast<unsigned char>(c))) break;
        digits += c;
    }
    if (digits.empty() || digits.size() > 18 || segment.find('%') == std::string::npos)
        return std::nullopt;
    return std::stoull(digits);
}

// "Total bytes sent: 1,234" from rsync's --stats.
std::optional<std::uint64_t> rsync_stat(const std::string& output, const std::string& label) {
    std::size_t at = output.rfind(label + ": ");
    if (at == std::string::npos) return std::nullopt;
    std::string digits;
    for (std::size_t i = at + label.size() + 2; i < output.size(); ++i) {
        if (output[i] == ',') continue;
        if (!std::isdigit(static_cast<unsigned char>(output[i]))) break;
        digits += output[i];
    }
    if (digits.empty() || digits.size() > 18) return std::nullopt;
    return std::stoull(digits);
}

// The first word of sha256sum's answer, when it is a SHA-256.
std::string first_hash(const std::string& text) {
    std::string word = trim(text).substr(0, 64);
    bool hex = word.size() == 64 && std::all_of(word.begin(), word.end(), [](char c) {
                   return std::isxdigit(static_cast<unsigned char>(c));
               });
    return hex ? to_lower(word) : "";
}

// The far side's SHA-256 of one file: OpenSSL's where it is installed (it uses the CPU's
// SHA instructions, 2-3 times coreutils' speed on a large file), else coreutils'. Both print
// the hash first.
std::string remote_sha256_command(const std::string& path) {
    return "if command -v openssl >/dev/null 2>&1; then openssl dgst -sha256 -r -- " +
           shell_quote(path) + "; else sha256sum -- " + shell_quote(path) + "; fi";
}

// The names `sha256sum -c` reported as not matching: "name: FAILED" and "name: FAILED open or
// read", and what it could not open.
std::vector<std::string> failed_names(const std::string& output) {
    std::vector<std::string> names;
    std::stringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
        std::size_t at = line.rfind(": FAILED");
        if (at != std::string::npos) names.push_back(line.substr(0, at));
    }
    return names;
}

class TransferRunner : public kinds::StepRunner {
public:
    std::string describe(const kinds::StepContext& context) const override {
        const kinds::Params& params = context.params;
        bool pull = params.string("direction") == "pull";
        std::string hosts = params.string("hosts");
        try {
            std::size_t count = context.hosts(hosts).size();
            hosts += " (" + std::to_string(count) + (count == 1 ? " host)" : " hosts)");
        } catch (const std::exception&) {
        }
        std::string size;
        std::error_code error;
        if (!pull && fs::is_regular_file(params.string("from"), error))
            size = " (" + format_bytes(fs::file_size(params.string("from"), error)) + ")";
        std::string method =
            params.string("method") == "auto" ? "rsync, else scp" : params.string("method");
        std::string verify = params.boolean("verify") ? ", SHA-256 compared" : "";
        return pull ? "pull " + params.string("from") + " from " + hosts + " to " +
                          params.string("to") + " by " + method + verify
                    : "push " + params.string("from") + size + " to " + params.string("to") +
                          " on " + hosts + " by " + method + verify;
    }

    void preflight(kinds::StepContext& context) override {
        check_params(context.params);
        if (context.params.string("direction") == "push" &&
            ::access(context.params.string("from").c_str(), R_OK) != 0)
            throw StepError("'" + context.params.string("from") + "' cannot be read", false);
        preflight_fanout(context);
    }

    void run(kinds::StepContext& context) override {
        const kinds::Params& params = context.params;
        check_params(params);
        std::vector<runbook::InventoryHost> hosts = selected_hosts(context);
        FanoutSettings settings = fanout_settings(params);
        SshSession session(context, params);
        Job job{context, session, params, hosts.size()};
        if (!job.pull) {
            if (::access(job.from.c_str(), R_OK) != 0)
                throw StepError("'" + job.from + "' cannot be read", false);
            // The source is hashed on the second core while the first copies go out.
            job.source_hash = std::async(std::launch::async, [&job, &context] {
                                  return hash_local(job.from, context.cancel);
                              }).share();
        }
        settings.progress_extra = [&job](Json& metrics) {
            std::uint64_t moved = job.moved();
            metrics["bytes"] = moved;
            return moved == 0 ? std::string() : format_bytes(moved) + " copied";
        };
        HostWork work = [&job](const runbook::InventoryHost& host, CancelToken& cancel) {
            return job.pull ? job.pull_from(host, cancel) : job.push_to(host, cancel);
        };
        FanoutResult result = run_fanout(context, hosts, settings, params.string("hosts"), work);
        set_fanout_outputs(context, result);
        std::uint64_t bytes = 0, sent = 0;
        for (const auto& [name, outcome] : result.outcomes) {
            bytes += outcome.extra.value("bytes", std::uint64_t{0});
            sent += outcome.extra.value("bytes_sent", std::uint64_t{0});
        }
        context.metrics["bytes"] = bytes;
        context.metrics["bytes_sent"] = sent;
        context.outputs["bytes"] = std::to_string(bytes);
        if (!job.pull && job.source_hash.valid()) {
            LocalTree source = job.source_hash.get();
            if (source.directory)
                context.outputs["manifest_sha256"] = sha256_hex(source.manifest);
            else
                context.outputs["sha256"] = source.sha256;
            context.metrics["files"] = source.files * hosts.size();
        }
        fail_if_over_budget(context, result);
    }

private:
    static void check_params(const kinds::Params& params) {
        std::string direction = params.string("direction");
        if (direction != "push" && direction != "pull")
            throw StepError("direction: expected push or pull, found '" + direction + "'", false);
        std::string method = params.string("method");
        if (method != "auto" && method != "rsync" && method != "scp")
            throw StepError("method: expected auto, rsync or scp, found '" + method + "'", false);
        if (params.string("from").empty() || params.string("to").empty())
            throw StepError("'from' and 'to' must not be empty", false);
        if (method == "rsync" && !on_path("rsync"))
            throw StepError("method rsync: no rsync on this machine's PATH", false);
    }

    // What every host's work shares.
    struct Job {
        kinds::StepContext& context;
        SshSession& session;
        const kinds::Params& params;
        std::size_t host_count;
        bool pull = params.string("direction") == "pull";
        std::string from = params.string("from");
        std::string to = params.string("to");
        std::string wanted_method = params.string("method");
        bool verify = params.boolean("verify");
        bool local_rsync = on_path("rsync");
        std::vector<std::string> rsync_options = params.string_list("rsync_options");
        std::shared_future<LocalTree> source_hash;
        std::string manifest_path;  // a directory's manifest, written once for `sha256sum -c`

        std::mutex mutex;
        std::map<std::string, std::uint64_t> progress;  // bytes so far, per host
        std::set<std::string> compare_contents;         // hosts whose copy differed once

        ~Job() {
            if (!manifest_path.empty()) ::unlink(manifest_path.c_str());
        }

        std::uint64_t moved() {
            std::lock_guard lock(mutex);
            std::uint64_t sum = 0;
            for (const auto& [host, bytes] : progress) sum += bytes;
            return sum;
        }
        void set_progress(const std::string& host, std::uint64_t bytes) {
            std::lock_guard lock(mutex);
            progress[host] = bytes;
        }

        io::ProcessResult remote(const io::SshTarget& target, const std::string& command,
                                 CancelToken& cancel, const std::string& input_file = "") {
            io::ProcessSpec spec;
            spec.command = io::ssh_command_line(target, session.options(), command);
            if (!input_file.empty()) spec.command += " < " + shell_quote(input_file);
            session.used(target);
            return context.services.processes.run(spec, cancel);
        }

        // Fails the attempt with what a command said; 255 is the ssh client's own failure.
        [[noreturn]] static void fail(const std::string& what, const io::ProcessResult& result,
                                      bool retryable = true) {
            std::string last = tail_lines(result.output_tail, 1, 200);
            if (result.exit_code < 0) throw StepError(what + ": stopped", true);
            throw StepError(
                what +
                    (result.exit_code == 255 ? ": ssh failed"
                                             : ": exit " + std::to_string(result.exit_code)) +
                    (last.empty() ? "" : ": " + last),
                retryable);
        }

        Method choose(bool far_has_rsync, const std::string& host) const {
            if (wanted_method == "scp") return Method::scp;
            if (wanted_method == "rsync" && !far_has_rsync)
                throw StepError(
                    "rsync is not installed on " + host + " (method: auto falls back to scp)",
                    false);
            return far_has_rsync && local_rsync ? Method::rsync : Method::scp;
        }

        std::vector<std::string> rsync_words(const io::SshTarget& target, bool checksum) const {
            std::vector<std::string> words = {"rsync",
                                              "-a",
                                              "--protect-args",
                                              "--partial",
                                              std::string("--partial-dir=") + k_partial_dir,
                                              "--info=progress2",
                                              "--no-inc-recursive",
                                              "--stats",
                                              "-e",
                                              io::rsync_shell(target, session.options())};
            if (checksum) words.push_back("--checksum");
            for (const std::string& option : rsync_options) words.push_back(option);
            words.push_back("--");
            return words;
        }

        // Runs the copy; returns the bytes that crossed the wire (rsync's count, else `size`).
        std::uint64_t copy(const runbook::InventoryHost& host, const io::SshTarget& target,
                           std::vector<std::string> words, Method method, bool pushing,
                           std::uint64_t size, CancelToken& cancel) {
            io::ProcessSpec spec;
            spec.command = shell_words(words);
            spec.log_path = host_log(context.log_path, host.name);
            if (method == Method::rsync)
                spec.on_tick = [this, name = host.name](const std::string& line) {
                    if (auto bytes = rsync_progress_bytes(line)) set_progress(name, *bytes);
                };
            session.used(target);
            io::ProcessResult result = context.services.processes.run(spec, cancel);
            if (result.exit_code != 0) {
                // rsync: 1 syntax, 2 protocol, 3 file selection, 4 unsupported action.
                bool retryable = method == Method::scp || result.exit_code > 4;
                fail(std::string(method_name(method)), result, retryable);
            }
            set_progress(host.name, size);
            if (method == Method::scp) return size;
            return rsync_stat(result.output_tail + "\n" + result.stdout_text,
                              pushing ? "Total bytes sent" : "Total bytes received")
                .value_or(size);
        }

        HostOutcome push_to(const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            // The source's kind decides the destination's shape; its hash may still be running.
            std::error_code error;
            bool directory = fs::is_directory(from, error);
            std::string dest = destination_path(to, from, directory);
            std::string temp = dest + k_scp_suffix;
            io::ProcessResult answer = remote(
                target,
                "mkdir -p -- " + shell_quote(directory ? dest : parent_of(dest)) +
                    " && rm -rf -- " + shell_quote(temp) +
                    " && { command -v rsync >/dev/null 2>&1 && echo rsync; " + "echo ready; }",
                cancel);
            if (answer.exit_code != 0 || answer.stdout_text.find("ready") == std::string::npos)
                fail("preparing " + dest, answer);
            Method how = choose(answer.stdout_text.find("rsync") != std::string::npos, host.name);
            bool checksum;
            {
                std::lock_guard lock(mutex);
                checksum = compare_contents.count(host.name) > 0;
            }
            std::string destination = io::ssh_destination(target) + ":";
            std::vector<std::string> words;
            if (how == Method::rsync) {
                words = rsync_words(target, checksum);
                words.push_back(directory ? from + "/" : from);
                words.push_back(destination + (directory ? dest + "/" : dest));
            } else {
                words = io::scp_words(target, session.options());
                if (directory) words.push_back("-r");
                words.push_back("--");
                words.push_back(from);
                words.push_back(destination + temp);
            }
            std::uint64_t size = directory ? 0 : fs::file_size(from, error);
            std::uint64_t sent = copy(host, target, words, how, true, size, cancel);
            std::string placed = how == Method::scp ? temp : dest;

            HostOutcome outcome;
            outcome.extra["method"] = method_name(how);
            outcome.extra["destination"] = dest;
            if (verify) {
                LocalTree tree = source_hash.get();
                if (cancel.cancelled()) throw StepError("stopped", true);
                if (tree.directory != directory)
                    throw StepError("'" + from + "' changed while it was sent", true);
                size = tree.bytes;
                if (directory)
                    check_tree_remote(host, target, tree, placed, cancel);
                else
                    check_file_remote(host, target, tree.sha256, placed, how, cancel);
                if (directory)
                    outcome.extra["manifest_sha256"] = sha256_hex(tree.manifest);
                else
                    outcome.extra["sha256"] = tree.sha256;
                outcome.extra["files"] = tree.files;
            } else if (directory) {
                size = sent;
            }
            if (how == Method::scp) {
                std::string swap = directory
                                       ? "rm -rf -- " + shell_quote(dest) + " && mv -- " +
                                             shell_quote(temp) + " " + shell_quote(dest)
                                       : "mv -f -- " + shell_quote(temp) + " " + shell_quote(dest);
                io::ProcessResult moved = remote(target, swap, cancel);
                if (moved.exit_code != 0) fail("renaming " + temp + " to " + dest, moved);
            }
            outcome.ok = true;
            outcome.exit_code = 0;
            outcome.extra["bytes"] = size;
            outcome.extra["bytes_sent"] = sent;
            set_progress(host.name, size);
            return outcome;
        }

        void check_file_remote(const runbook::InventoryHost& host, const io::SshTarget& target,
                               const std::string& expected, const std::string& path, Method how,
                               CancelToken& cancel) {
            io::ProcessResult answer = remote(target, remote_sha256_command(path), cancel);
            std::string found = first_hash(answer.stdout_text);
            if (answer.exit_code != 0 || found.empty()) fail("sha256sum of " + path, answer);
            if (found == expected) return;
            {
                std::lock_guard lock(mutex);
                compare_contents.insert(host.name);
            }
            // No wrong copy stays under the destination's name.
            if (how == Method::rsync)
                remote(
                    target,
                    "mv -f -- " + shell_quote(path) + " " + shell_quote(path + k_mismatch_suffix),
                    cancel);
            throw StepError(
                "SHA-256 differs: the copy of " + from + " on " + host.name + " has " + found +
                    ", the source " + expected +
                    (how == Method::rsync ? "; kept aside as " + path + k_mismatch_suffix : ""),
                true);
        }

        void check_tree_remote(const runbook::InventoryHost& host, const io::SshTarget& target,
                               const LocalTree& tree, const std::string& dir, CancelToken& cancel) {
            std::string manifest = manifest_file(tree);
            io::ProcessResult answer =
                remote(target, "cd -- " + shell_quote(dir) + " && sha256sum --quiet --strict -c -",
                       cancel, manifest);
            if (answer.exit_code == 0) return;
            if (answer.exit_code == 255) fail("checking " + dir, answer);
            std::vector<std::string> names =
                failed_names(answer.stdout_text + "\n" + answer.output_tail);
            {
                std::lock_guard lock(mutex);
                compare_contents.insert(host.name);
            }
            std::string listed =
                names.empty() ? tail_lines(answer.output_tail, 1, 200)
                              : join(std::vector<std::string>(
                                         names.begin(),
                                         names.begin() + std::min<std::size_t>(names.size(), 5)),
                                     ", ");
            throw StepError("the copy of " + from + " on " + host.name + " differs from the " +
                                "source's manifest: " + std::to_string(names.size()) +
                                " file(s) (" + listed + ")",
                            true);
        }

        std::string manifest_file(const LocalTree& tree) {
            std::lock_guard lock(mutex);
            if (!manifest_path.empty()) return manifest_path;
            char name[] = "/tmp/migrate-manifest-XXXXXX";
            int fd = ::mkstemp(name);
            if (fd < 0) throw StepError("cannot write a manifest in /tmp", true);
            std::size_t written = 0;
            while (written < tree.manifest.size()) {
                ssize_t n =
                    ::write(fd, tree.manifest.data() + written, tree.manifest.size() - written);
                if (n <= 0) {
                    ::close(fd);
                    ::unlink(name);
                    throw StepError("cannot write a manifest in /tmp", true);
                }
                written += static_cast<std::size_t>(n);
            }
            ::close(fd);
            manifest_path = name;
            return manifest_path;
        }

        HostOutcome pull_from(const runbook::InventoryHost& host, CancelToken& cancel) {
            io::SshTarget target = ssh_target(host);
            std::string source = destination_path(from, from, true);
            std::string dest = host_count > 1 ? (fs::path(to) / host.name).string()
                                              : destination_path(to, from, false);
            std::string temp = dest + k_scp_suffix;
            io::ProcessResult answer =
                remote(target,
                       "if [ -d " + shell_quote(source) + " ]; then echo directory; elif [ -f " +
                           shell_quote(source) + " ]; then echo file; else echo missing; fi; " +
                           "command -v rsync >/dev/null 2>&1 && echo rsync; echo ready",
                       cancel);
            if (answer.exit_code != 0 || answer.stdout_text.find("ready") == std::string::npos)
                fail("looking at " + source, answer);
            if (answer.stdout_text.find("missing") != std::string::npos)
                throw StepError("'" + source + "' is not a file or directory on " + host.name,
                                false);
            bool directory = answer.stdout_text.find("directory") != std::string::npos;
            Method how = choose(answer.stdout_text.find("rsync") != std::string::npos, host.name);
            std::error_code error;
            fs::create_directories(directory ? fs::path(dest) : fs::path(parent_of(dest)), error);
            fs::remove_all(temp, error);
            bool checksum;
            {
                std::lock_guard lock(mutex);
                checksum = compare_contents.count(host.name) > 0;
            }
            std::string origin = io::ssh_destination(target) + ":" + source;
            std::vector<std::string> words;
            if (how == Method::rsync) {
                words = rsync_words(target, checksum);
                words.push_back(directory ? origin + "/" : origin);
                words.push_back(directory ? dest + "/" : dest);
            } else {
                words = io::scp_words(target, session.options());
                if (directory) words.push_back("-r");
                words.push_back("--");
                words.push_back(origin);
                words.push_back(temp);
            }
            std::uint64_t received = copy(host, target, words, how, false, 0, cancel);
            std::string placed = how == Method::scp ? temp : dest;
            HostOutcome outcome;
            outcome.extra["method"] = method_name(how);
            outcome.extra["destination"] = dest;
            LocalTree tree =
                verify ? check_pulled(host, target, source, placed, directory, how, cancel)
                       : LocalTree{};
            if (how == Method::scp) {
                if (directory) fs::remove_all(dest, error);
                fs::rename(temp, dest, error);
                if (error)
                    throw StepError(
                        "cannot rename " + temp + " to " + dest + ": " + error.message(), false);
            }
            if (!verify) {
                tree.bytes = received;
            } else if (directory) {
                outcome.extra["manifest_sha256"] = sha256_hex(tree.manifest);
            } else {
                outcome.extra["sha256"] = tree.sha256;
            }
            outcome.ok = true;
            outcome.exit_code = 0;
            outcome.extra["bytes"] = tree.bytes;
            outcome.extra["bytes_sent"] = received;
            outcome.extra["files"] = tree.files;
            set_progress(host.name, tree.bytes);
            return outcome;
        }

        // The copy here against the source there: sha256sum of the file, or of every file of
        // the directory (find | sha256sum), read back as a manifest.
        LocalTree check_pulled(const runbook::InventoryHost& host, const io::SshTarget& target,
                               const std::string& source, const std::string& placed, bool directory,
                               Method how, CancelToken& cancel) {
            std::string command = directory ? "cd -- " + shell_quote(source) +
                                                  " && find . -type f -exec sha256sum -- {} +"
                                            : remote_sha256_command(source);
            io::ProcessResult answer = remote(target, command, cancel);
            if (answer.exit_code != 0) fail("sha256sum of " + source + " on " + host.name, answer);
            LocalTree copy = hash_local(placed, cancel);
            std::vector<std::string> differ;
            if (!directory) {
                std::string expected = first_hash(answer.stdout_text);
                if (expected.empty()) fail("sha256sum of " + source + " on " + host.name, answer);
                if (expected != copy.sha256) differ.push_back(source);
            } else {
                std::map<std::string, std::string> here;
                for (const files::ChecksumEntry& entry :
                     files::parse_checksum_list(copy.manifest, placed))
                    here[entry.name] = entry.hex;
                for (const files::ChecksumEntry& entry :
                     files::parse_checksum_list(answer.stdout_text, host.name + ":" + source)) {
                    std::string name =
                        entry.name.rfind("./", 0) == 0 ? entry.name.substr(2) : entry.name;
                    auto found = here.find(name);
                    if (found == here.end() || found->second != entry.hex) differ.push_back(name);
                }
            }
            if (differ.empty()) return copy;
            {
                std::lock_guard lock(mutex);
                compare_contents.insert(host.name);
            }
            if (how == Method::rsync && !directory) {
                std::error_code error;
                fs::rename(placed, placed + k_mismatch_suffix, error);
            }
            differ.resize(std::min<std::size_t>(differ.size(), 5));
            throw StepError(
                "the copy from " + host.name + " differs from its source: " + join(differ, ", "),
                true);
        }
    };
};

}  // namespace

kinds::KindSpec transfer_kind() {
    using runbook::ParamType;
    std::vector<runbook::ParamSpec> params = {
        {"hosts", ParamType::hosts, true, "",
         "a host pattern over the inventory: a group, all, web:!web3, web[0:9]"},
        {"from", ParamType::string, true, "",
         "push: a file or directory on this machine; pull: a path on the hosts (relative to the "
         "login directory)"},
        {"to", ParamType::string, true, "",
         "push: the path on each host (ending in / for a file: the directory to put it in); "
         "pull: the path here, and with several hosts the directory holding one copy per host "
         "(to/HOST)"},
        {"direction",
         ParamType::string,
         false,
         "push",
         "push (to the hosts) or pull (from them)",
         {"push", "pull"}},
        {"method",
         ParamType::string,
         false,
         "auto",
         "rsync (resumable), scp, or auto: rsync where both sides have it, else scp",
         {"auto", "rsync", "scp"}},
        {"verify", ParamType::boolean, false, "true",
         "compare each copy's SHA-256 with its source's (a directory: file by file)"},
        {"rsync_options", ParamType::string_list, false, "",
         "further rsync options (--bwlimit=20m, --compress)"},
    };
    for (auto& extra : fanout_params()) params.push_back(std::move(extra));
    for (auto& extra : ssh_params()) params.push_back(std::move(extra));
    return kinds::KindSpec{
        .schema =
            {
                .name = "transfer",
                .summary = "a file or directory to or from the hosts of a pattern over ssh: rsync "
                           "(resumable) or scp, each copy's SHA-256 compared with its source's",
                .params = std::move(params),
                .outputs = {"ok", "failed", "ok_count", "failed_count", "bytes", "sha256",
                            "manifest_sha256"},
                .host_outputs = host_output_fields(),
            },
        .resumable_inside = true,
        .make = [] { return std::make_unique<TransferRunner>(); },
    };
}

}  // namespace migrate::steps::remote
