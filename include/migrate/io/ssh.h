// The ssh seam: how a step reaches a host. Every remote action is a command line for the
// system OpenSSH client (BatchMode, the operator's ssh config, agent and known_hosts), run
// through the ProcessRunner of io/services.h, so unit tests replace the runner with a fake and
// read the command lines it was given.
#pragma once

#include <string>
#include <vector>

#include "migrate/util/units.h"

namespace migrate::io {

// One host as the client is told to reach it.
struct SshTarget {
    std::string name;     // the inventory name, shown to people and used in outputs
    std::string address;  // what ssh connects to: ansible_host, else the name
    int port = 0;         // 0: the client's default (its config, else 22)
    std::string user;     // "": the client's default
};

struct SshOptions {
    std::string config_file;           // ssh -F; "": the operator's ~/.ssh/config
    std::vector<std::string> options;  // extra -o settings, "Name=value"
    // ControlMaster/ControlPersist multiplexing: a directory for the control sockets, owned
    // by the step ("": none). Its path must be short (a socket path has at most 107 bytes).
    std::string control_dir;
    Millis connect_timeout{std::chrono::seconds(10)};
};

// The words before the destination: "ssh -o BatchMode=yes ... -p PORT -l USER" (not quoted).
std::vector<std::string> ssh_words(const SshTarget& target, const SshOptions& options);

// A /bin/sh command line running `remote_command` on the target, its words quoted.
std::string ssh_command_line(const SshTarget& target, const SshOptions& options,
                             const std::string& remote_command);

// The -e value for rsync (the ssh program and its options, without the destination) and
// the destination "user@address" (brackets around an IPv6 address).
std::string rsync_shell(const SshTarget& target, const SshOptions& options);
std::string ssh_destination(const SshTarget& target);

// The words of an scp command before its operands: "scp -q -p -o ... -P PORT" (the same client
// options as ssh_words; the user goes into the operand as ssh_destination gives it).
std::vector<std::string> scp_words(const SshTarget& target, const SshOptions& options);

// Closes the control master for `target`, if one runs (ssh -O exit); a command line.
std::string ssh_close_master_line(const SshTarget& target, const SshOptions& options);

}  // namespace migrate::io
