// ZFLEET_PY_HIDDEN: pybind11 declares its namespace with hidden visibility,
// so GCC warns (-Wattributes) about any type that holds a py::object (or
// holds such a type) unless that type is hidden too. zfleet links these
// libraries statically, so hiding them changes nothing else.
#pragma once

#define ZFLEET_PY_HIDDEN __attribute__((visibility("hidden")))
