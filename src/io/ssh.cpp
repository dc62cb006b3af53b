// Command lines for the OpenSSH client.
#include "migrate/io/ssh.h"

#include "migrate/util/text.h"

namespace migrate::io {

std::vector<std::string> ssh_words(const SshTarget& target, const SshOptions& options) {
    std::vector<std::string> words = {"ssh"};
    if (!options.config_file.empty()) {
        words.push_back("-F");
        words.push_back(options.config_file);
    }
    auto option = [&](const std::string& setting) {
        words.push_back("-o");
        words.push_back(setting);
    };
    // No prompt can be answered: a host that asks for a password or an unknown host key
    // fails at once and says so.
    option("BatchMode=yes");
    std::int64_t seconds =
        std::max<std::int64_t>(1, (options.connect_timeout.count() + 999) / 1000);
    option("ConnectTimeout=" + std::to_string(seconds));
    option("ServerAliveInterval=15");
    option("ServerAliveCountMax=4");
    if (!options.control_dir.empty()) {
        option("ControlMaster=auto");
        option("ControlPath=" + options.control_dir + "/%C");
        option("ControlPersist=120");
    }
    for (const std::string& setting : options.options) option(setting);
    if (target.port > 0) {
        words.push_back("-p");
        words.push_back(std::to_string(target.port));
    }
    if (!target.user.empty()) {
        words.push_back("-l");
        words.push_back(target.user);
    }
    return words;
}

std::string ssh_destination(const SshTarget& target) {
    std::string address = target.address.empty() ? target.name : target.address;
    if (address.find(':') != std::string::npos && address.front() != '[')
        address = "[" + address + "]";
    return target.user.empty() ? address : target.user + "@" + address;
}

std::string ssh_command_line(const SshTarget& target, const SshOptions& options,
                             const std::string& remote_command) {
    std::vector<std::string> words = ssh_words(target, options);
    words.push_back("--");
    words.push_back(target.address.empty() ? target.name : target.address);
    words.push_back(remote_command);
    return shell_words(words);
}

std::string rsync_shell(const SshTarget& target, const SshOptions& options) {
    SshTarget without_user = target;
    without_user.user.clear();  // rsync puts it in the destination
    return shell_words(ssh_words(without_user, options));
}

std::vector<std::string> scp_words(const SshTarget& target, const SshOptions& options) {
    SshTarget bare = target;
    bare.user.clear();
    bare.port = 0;
    std::vector<std::string> words = ssh_words(bare, options);
    words[0] = "scp";
    words.insert(words.begin() + 1, {"-q", "-p"});
    if (target.port > 0) {
        words.push_back("-P");
        words.push_back(std::to_string(target.port));
    }
    return words;
}

std::string ssh_close_master_line(const SshTarget& target, const SshOptions& options) {
    std::vector<std::string> words = ssh_words(target, options);
    words.push_back("-O");
    words.push_back("exit");
    words.push_back("--");
    words.push_back(target.address.empty() ? target.name : target.address);
    return shell_words(words) + " 2>/dev/null";
}

}  // namespace migrate::io
