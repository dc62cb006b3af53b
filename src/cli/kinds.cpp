// migrate kinds [KIND]: printed from the same table the validator uses.
#include <algorithm>
#include <iomanip>
#include <iostream>

#include "cli.h"
#include "migrate/steps/kinds.h"
#include "migrate/util/error.h"
#include "migrate/util/text.h"

namespace migrate::cli {
namespace {

Json kind_json(const kinds::KindSpec& kind) {
    Json params = Json::array();
    for (const runbook::ParamSpec& p : kind.schema.params) {
        Json param{{"name", p.name},
                   {"type", runbook::param_type_name(p.type)},
                   {"required", p.required},
                   {"help", p.help}};
        if (!p.default_value.empty()) param["default"] = p.default_value;
        if (!p.choices.empty()) param["choices"] = p.choices;
        params.push_back(param);
    }
    Json json{{"kind", kind.schema.name},
              {"summary", kind.schema.summary},
              {"resumable_inside", kind.resumable_inside},
              {"parameters", params},
              {"outputs", kind.schema.outputs}};
    if (!kind.schema.host_outputs.empty()) json["host_outputs"] = kind.schema.host_outputs;
    return json;
}

void print_kind(const kinds::KindSpec& kind) {
    std::cout << kind.schema.name << ": " << kind.schema.summary << "\n"
              << "  resumes inside itself: " << (kind.resumable_inside ? "yes" : "no (restarts)")
              << "\n  parameters:\n";
    // The name column fits the longest name, so `strip_components` keeps a space after it.
    std::size_t width = 16;
    for (const runbook::ParamSpec& p : kind.schema.params)
        width = std::max(width, p.name.size() + 2);
    for (const runbook::ParamSpec& p : kind.schema.params) {
        std::cout << "    " << std::left << std::setw(static_cast<int>(width)) << p.name
                  << std::setw(20) << runbook::param_type_name(p.type)
                  << (p.required ? "required  " : "optional  ") << p.help;
        if (!p.default_value.empty()) std::cout << " [default: " << p.default_value << "]";
        if (!p.choices.empty()) std::cout << " {" << join(p.choices, ", ") << "}";
        std::cout << "\n";
    }
    std::cout << "  outputs: "
              << (kind.schema.outputs.empty() ? "none" : join(kind.schema.outputs, ", ")) << "\n";
    if (!kind.schema.host_outputs.empty())
        std::cout << "  per host: hosts.HOST." << join(kind.schema.host_outputs, ", hosts.HOST.")
                  << "\n";
}

}  // namespace

CommandAction setup_kinds(CLI::App& app, GlobalOptions& global) {
    auto name = std::make_shared<std::string>();
    app.add_option("kind", *name, "show one kind's parameters");
    return [name, &global] {
        const kinds::KindTable& table = steps::builtin_kinds();
        if (!name->empty()) {
            const kinds::KindSpec* kind = kinds::find_kind(table, *name);
            if (kind == nullptr)
                throw UsageError("unknown kind '" + *name + "'" +
                                 did_you_mean(*name, kinds::kind_names(table)) +
                                 " (kinds: " + join(kinds::kind_names(table), ", ") + ")");
            if (global.json())
                print_json(kind_json(*kind));
            else
                print_kind(*kind);
            return 0;
        }
        if (global.json()) {
            Json list = Json::array();
            for (const kinds::KindSpec& kind : table) list.push_back(kind_json(kind));
            print_json(list);
            return 0;
        }
        std::size_t width = 10;  // the longest name and two spaces ("mysql.load" needs 12)
        for (const kinds::KindSpec& kind : table)
            width = std::max(width, kind.schema.name.size() + 2);
        for (const kinds::KindSpec& kind : table)
            std::cout << std::left << std::setw(static_cast<int>(width)) << kind.schema.name
                      << kind.schema.summary << "\n";
        std::cout << "\n'migrate kinds KIND' shows a kind's parameters.\n";
        return 0;
    };
}

}  // namespace migrate::cli
