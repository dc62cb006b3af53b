// Process groups, the guard process, output capture with redaction.
#include "migrate/io/process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include <spdlog/spdlog.h>

#include "migrate/util/error.h"
#include "migrate/util/redactor.h"
#include "migrate/util/text.h"

extern char** environ;

namespace migrate::io {
namespace {

constexpr std::size_t k_stdout_cap = 64 * 1024;
constexpr std::size_t k_tail_cap = 16 * 1024;

[[noreturn]] void exec_command(const ProcessSpec& spec, char* const* envp, int out_fd, int err_fd) {
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd >= 0) ::dup2(null_fd, 0);
    if (!spec.cwd.empty() && ::chdir(spec.cwd.c_str()) != 0) {
        const char* message = "migrate: cannot enter the step's working directory\n";
        (void)!::write(2, message, std::strlen(message));
        ::_exit(126);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    const char* argv[] = {"sh", "-c", spec.command.c_str(), nullptr};
    ::execve("/bin/sh", const_cast<char* const*>(argv), envp);
    ::_exit(127);
}

// The guard: leader of the step's process group. It starts the command, waits for it, and
// if its parent (migrate) dies it kills the whole group. Only async-signal-safe calls here:
// this runs in the child of a multi-threaded process.
[[noreturn]] void run_guard(const ProcessSpec& spec, char* const* envp, pid_t engine_pid,
                            int out_fd, int err_fd) {
    ::setpgid(0, 0);
    sigset_t watched;
    sigemptyset(&watched);
    sigaddset(&watched, SIGTERM);
    sigaddset(&watched, SIGCHLD);
    sigaddset(&watched, SIGINT);
    ::sigprocmask(SIG_BLOCK, &watched, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != engine_pid) ::_exit(125);  // migrate died before the guard was set
    pid_t child = ::fork();
    if (child == 0) exec_command(spec, envp, out_fd, err_fd);
    ::close(out_fd);
    ::close(err_fd);
    if (child < 0) ::_exit(126);
    for (;;) {
        siginfo_t info;
        int signal_number = ::sigwaitinfo(&watched, &info);
        if (signal_number == SIGCHLD) {
            int status = 0;
            if (::waitpid(child, &status, WNOHANG) == child) {
                if (WIFEXITED(status)) ::_exit(WEXITSTATUS(status));
                // Report death by signal as the shell does: 128 + signal.
                ::_exit(128 + WTERMSIG(status));
            }
        } else if (signal_number == SIGTERM || signal_number == SIGINT) {
            if (::getppid() != engine_pid) {
                ::kill(0, SIGKILL);  // migrate is gone: take the whole group down
                ::_exit(137);
            }
            // Otherwise the engine signalled the group on purpose; the command got it too.
        }
    }
}

struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            throw StepError(std::string("cannot create a pipe: ") + std::strerror(errno), true);
        read_end = fds[0];
        write_end = fds[1];
    }
};

// Collects the output of both streams: the redacted log file, a tail, and capped stdout.
class OutputCollector {
public:
    explicit OutputCollector(const std::string& log_path)
        : m_stdout_redactor(Redactor::global()), m_log_redactor(Redactor::global()) {
        if (!log_path.empty()) m_log.open(log_path, std::ios::app | std::ios::binary);
    }
    void add(bool is_stdout, std::string_view chunk) {
        write_log(m_log_redactor.feed(chunk));
        if (is_stdout && m_stdout.size() < k_stdout_cap) m_stdout += m_stdout_redactor.feed(chunk);
    }
    // The last line written so far, complete or not.
    std::string last_line() const {
        std::string_view tail(m_tail);
        while (!tail.empty() && (tail.back() == '\n' || tail.back() == '\r')) tail.remove_suffix(1);
        std::size_t newline = tail.find_last_of('\n');
        return std::string(newline == std::string_view::npos ? tail : tail.substr(newline + 1));
    }
    ProcessResult finish() {
        write_log(m_log_redactor.finish());
        if (m_stdout.size() < k_stdout_cap) m_stdout += m_stdout_redactor.finish();
        ProcessResult result;
        result.stdout_text = utf8_prefix(m_stdout, k_stdout_cap);
        result.output_tail = tail_lines(m_tail, 20, 4096);
        return result;
    }

private:
    void write_log(const std::string& text) {
        if (text.empty()) return;
        if (m_log.is_open()) m_log << text << std::flush;
        m_tail += text;
        if (m_tail.size() > 2 * k_tail_cap) m_tail.erase(0, m_tail.size() - k_tail_cap);
    }
    std::ofstream m_log;
    StreamRedactor m_stdout_redactor;
    StreamRedactor m_log_redactor;
    std::string m_stdout;
    std::string m_tail;
};

}  // namespace

ProcessResult SystemProcessRunner::run(const ProcessSpec& spec, CancelToken& cancel) {
    Pipe out, err;
    pid_t engine_pid = ::getpid();
    // The environment is built before fork(): the child of a threaded process must not allocate.
    std::vector<std::string> env_strings;
    for (char** entry = environ; *entry != nullptr; ++entry) {
        std::string_view text(*entry);
        std::string name(text.substr(0, text.find('=')));
        if (!spec.env.count(name)) env_strings.emplace_back(text);
    }
    for (const auto& [name, value] : spec.env) env_strings.push_back(name + "=" + value);
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
    pid_t guard = ::fork();
    if (guard < 0)
        throw StepError(std::string("cannot start a process: ") + std::strerror(errno), true);
    if (guard == 0) {
        ::close(out.read_end);
        ::close(err.read_end);
        run_guard(spec, envp.data(), engine_pid, out.write_end, err.write_end);
    }
    ::setpgid(guard, guard);  // also done by the guard; whichever runs first wins the race
    spdlog::debug("started process group {} for: {}", guard, spec.command);
    ::close(out.write_end);
    ::close(err.write_end);

    OutputCollector collector(spec.log_path);
    pollfd fds[2] = {{out.read_end, POLLIN, 0}, {err.read_end, POLLIN, 0}};
    int open_streams = 2;
    bool term_sent = false;
    auto kill_deadline = std::chrono::steady_clock::time_point::max();
    auto enforce_cancel = [&] {
        if (cancel.cancelled() && !term_sent) {
            ::kill(-guard, SIGTERM);
            term_sent = true;
            kill_deadline = std::chrono::steady_clock::now() + m_grace;
        }
        if (term_sent && std::chrono::steady_clock::now() >= kill_deadline) {
            ::kill(-guard, SIGKILL);
            kill_deadline = std::chrono::steady_clock::time_point::max();
        }
    };
    char buffer[65536];
    int status = 0;
    bool exited = false;
    auto next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    // Output is read until the command has exited and its pipes are drained; a background
    // child that keeps a pipe open does not hold the step up.
    while (open_streams > 0) {
        if (!exited && ::waitpid(guard, &status, WNOHANG) == guard) {
            exited = true;
            for (pollfd& fd : fds)
                if (fd.fd >= 0) ::fcntl(fd.fd, F_SETFL, ::fcntl(fd.fd, F_GETFL) | O_NONBLOCK);
        }
        enforce_cancel();
        if (spec.on_tick && std::chrono::steady_clock::now() >= next_tick) {
            next_tick = std::chrono::steady_clock::now() + std::chrono::seconds(1);
            spec.on_tick(collector.last_line());
        }
        int ready = ::poll(fds, 2, exited ? 0 : 100);
        if (ready <= 0) {
            if (exited) break;
            continue;
        }
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n > 0) {
                collector.add(i == 0, std::string_view(buffer, static_cast<std::size_t>(n)));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN) || exited) {
                ::close(fds[i].fd);
                fds[i].fd = -1;
                --open_streams;
            }
        }
    }
    for (pollfd& fd : fds)
        if (fd.fd >= 0) ::close(fd.fd);
    for (useconds_t pause = 200; !exited; pause = std::min<useconds_t>(pause * 2, 20'000)) {
        enforce_cancel();
        exited = ::waitpid(guard, &status, WNOHANG) == guard;
        if (!exited) ::usleep(pause);
    }
    ProcessResult result = collector.finish();
    spdlog::debug("process group {} ended: status {}{}", guard, status,
                  term_sent ? " (after a stop request)" : "");
    if (WIFEXITED(status)) {
        result.exit_code = WEXITSTATUS(status);
        if (result.exit_code > 128 && term_sent) result.term_signal = result.exit_code - 128;
    } else if (WIFSIGNALED(status)) {
        result.term_signal = WTERMSIG(status);
    }
    return result;
}

}  // namespace migrate::io
