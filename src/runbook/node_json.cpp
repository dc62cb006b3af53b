// Node to JSON.
#include "migrate/runbook/node_json.h"

namespace migrate::runbook {

nlohmann::ordered_json node_to_json(const Node& node) {
    switch (node.type) {
        case Node::Type::null:
            return nullptr;
        case Node::Type::scalar:
            return node.value;
        case Node::Type::sequence: {
            nlohmann::ordered_json list = nlohmann::ordered_json::array();
            for (const Node& item : node.items) list.push_back(node_to_json(item));
            return list;
        }
        case Node::Type::mapping: {
            nlohmann::ordered_json object = nlohmann::ordered_json::object();
            for (const auto& [key, value] : node.entries) object[key.value] = node_to_json(value);
            return object;
        }
    }
    return nullptr;
}

}  // namespace migrate::runbook
