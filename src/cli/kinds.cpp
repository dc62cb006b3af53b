// migrate kinds [KIND]: printed from the same table the validator uses.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::cli {
namespace {

Json kind_json(const steps::KindSpec& kind) {
    Json params = Json::array();
    for (const steps::ParamSpec& p : kind.params) {
        Json param{{"name", p.name}, {"type", steps::param_type_name(p.type)}, {"required", p.required}, {"help", p.help}};
        if (!p.default_value.empty()) param["default"] = p.default_value;
        if (!p.choices.empty()) param["choices"] = p.choices;
        params.push_back(param);
    }
    return Json{{"kind", kind.name}, {"summary", kind.summary}, {"resumable_inside", kind.resumable_inside},
                {"parameters", params}, {"outputs", kind.outputs}};
}

void print_kind(const steps::KindSpec& kind) {
    std::cout << kind.name << ": " << kind.summary << "\n"
              << "  resumes inside itself: " << (kind.resumable_inside ? "yes" : "no (restarts)") << "\n  parameters:\n";
    // The name column fits the longest name, so `strip_components` keeps a space after it.
    std::size_t width = 16;
    for (const steps::ParamSpec& p : kind.params) width = std::max(width, p.name.size() + 2);
    for (const steps::ParamSpec& p : kind.params) {
        std::cout << "    " << std::left << std::setw(static_cast<int>(width)) << p.name << std::setw(20) << steps::param_type_name(p.type)
                  << (p.required ? "required  " : "optional  ") << p.help;
        if (!p.default_value.empty()) std::cout << " [default: " << p.default_value << "]";
        if (!p.choices.empty()) std::cout << " {" << join(p.choices, ", ") << "}";
        std::cout << "\n";
    }
    std::cout << "  outputs: " << (kind.outputs.empty() ? "none" : join(kind.outputs, ", ")) << "\n";
}

}  // namespace

CommandAction setup_kinds(CLI::App& app, GlobalOptions& global) {
    auto name = std::make_shared<std::string>();
    app.add_option("kind", *name, "show one kind's parameters");
    return [name, &global] {
        const steps::KindTable& table = steps::builtin_kinds();
        if (!name->empty()) {
            const steps::KindSpec* kind = steps::find_kind(table, *name);
            if (kind == nullptr)
                throw UsageError("unknown kind '" + *name + "'" + did_you_mean(*name, steps::kind_names(table)) +
                                 " (kinds: " + join(steps::kind_names(table), ", ") + ")");
            if (global.json()) print_json(kind_json(*kind));
            else print_kind(*kind);
            return 0;
        }
        if (global.json()) {
            Json list = Json::array();
            for (const steps::KindSpec& kind : table) list.push_back(kind_json(kind));
            print_json(list);
            return 0;
        }
        std::size_t width = 10;  // the longest name and two spaces ("mysql.load" needs 12)
        for (const steps::KindSpec& kind : table) width = std::max(width, kind.name.size() + 2);
        for (const steps::KindSpec& kind : table)
            std::cout << std::left << std::setw(static_cast<int>(width)) << kind.name << kind.summary << "\n";
        std::cout << "\n'migrate kinds KIND' shows a kind's parameters.\n";
        return 0;
    };
}

}  // namespace migrate::cli
