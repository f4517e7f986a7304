// "Did you mean": the closest of a set of names to a mistyped one, for
// `zfleet sumbit` -> "did you mean 'submit'?". CLI11 has no suggestions of
// its own.
//
// Thread safety: functions only.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zfleet::cli {

// Optimal string alignment distance: insertions, deletions, substitutions
// and transpositions of two neighbours each cost 1 ("sumbit" is 1 from
// "submit", where plain Levenshtein says 2).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, if it is close enough to be a typo: at
// most max(2, size/3) edits away (a short word may not match everything).
// Ties go to the earlier candidate, so list the common names first.
std::optional<std::string> closest_name(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace zfleet::cli
