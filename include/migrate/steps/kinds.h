// The one table of the kinds this build has.
#pragma once

#include "migrate/kinds/kind.h"

namespace migrate::steps {

// Every kind, grouped by family, in the order `migrate kinds` lists them.
const kinds::KindTable& builtin_kinds();

// Whether steps of this kind are people's work (manual): their time is people time and they
// wait for a confirmation. False for a kind this build does not have.
bool is_people_kind(const std::string& kind);

}  // namespace migrate::steps
