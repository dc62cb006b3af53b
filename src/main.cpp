// migrate's entry point: the one place errors are caught and turned into exit codes.
#include <iostream>

#include "cli/cli.h"
#include "migrate/util/error.h"
#include "migrate/util/redactor.h"

int main(int argc, char** argv) {
    using namespace migrate;
    try {
        return cli::run_main(argc, argv);
    } catch (const UsageError& e) {
        std::cerr << "migrate: error: " << Redactor::global().redact(e.what()) << std::endl;
        return exit_code::k_usage;
    } catch (const Fatal& e) {
        std::cerr << "migrate: error: " << Redactor::global().redact(e.what()) << std::endl;
        return e.exit_code();
    } catch (const std::exception& e) {
        std::cerr << "migrate: error: " << Redactor::global().redact(e.what()) << std::endl;
        return exit_code::k_step_failed;
    }
}
