// Unit tests of tools/cli/suggest: the "did you mean" of `zfleet sumbit`.
#include <doctest/doctest.h>

#include "tools/cli/suggest.h"

using zfleet::cli::closest_name;
using zfleet::cli::edit_distance;

TEST_SUITE("cli_suggest") {
  TEST_CASE("edit distance counts a swap of neighbours as one edit") {
    CHECK(edit_distance("", "") == 0);
    CHECK(edit_distance("submit", "submit") == 0);
    CHECK(edit_distance("sumbit", "submit") == 1);  // transposition
    CHECK(edit_distance("submt", "submit") == 1);   // deletion
    CHECK(edit_distance("submitt", "submit") == 1); // insertion
    CHECK(edit_distance("sabmit", "submit") == 1);  // substitution
    CHECK(edit_distance("", "get") == 3);
    CHECK(edit_distance("kitten", "sitting") == 3);
    CHECK(edit_distance("ca", "abc") == 3);         // optimal string alignment, not full Damerau
  }

  TEST_CASE("the closest command, if close enough") {
    const std::vector<std::string> names{"submit", "submit-batch", "get", "wait", "cancel",
                                         "status", "reload", "keygen"};
    CHECK(closest_name("sumbit", names) == "submit");
    CHECK(closest_name("stauts", names) == "status");
    CHECK(closest_name("stat", names) == "status");
    CHECK(closest_name("gte", names) == "get");
    CHECK(closest_name("wiat", names) == "wait");
    CHECK(closest_name("submit-bach", names) == "submit-batch");
    CHECK(closest_name("submitbatch", names) == "submit-batch");
    CHECK(closest_name("relaod", names) == "reload");
    CHECK(closest_name("cancle", names) == "cancel");
    CHECK_FALSE(closest_name("xyzzy", names).has_value());
    CHECK_FALSE(closest_name("frobnicate", names).has_value());
    CHECK_FALSE(closest_name("", names).has_value());
  }

  TEST_CASE("ties go to the earlier candidate") {
    CHECK(closest_name("bat", {"cat", "bar"}) == "cat");
    CHECK(closest_name("bat", {"bar", "cat"}) == "bar");
  }
}
