// TextTable: lays out a table of text cells in a given number of terminal
// columns, for `zfleet status --watch`. No line it renders is wider than the
// width asked for:
//   1. while the columns' minimum widths (plus one space between columns) do
//      not fit, the column with the highest `drop` rank is left out (rank 0
//      is never dropped);
//   2. the room left goes to the flexible (text) columns, one column at a
//      time in turn, until each is as wide as its widest cell;
//   3. a cell wider than its column is cut with an ellipsis (human_units.h),
//      at its end or in its middle as the column says; a line still too wide
//      (too narrow a terminal for even the undroppable columns) is cut.
//
// Thread safety: a plain value; one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace zfleet::cli {

struct TextColumn {
  enum class Cut { end, middle };
  std::string header;
  std::size_t width = 0;   // fixed width, or the minimum of a flexible column
  bool flexible = false;   // grows up to its widest cell
  bool left = false;       // left-aligned (text); else right-aligned (numbers)
  int drop = 0;            // 0: always shown; higher ranks go first when short of room
  Cut cut = Cut::end;
};

class TextTable {
 public:
  explicit TextTable(std::vector<TextColumn> columns) : columns_(std::move(columns)) {}

  // A row: one cell per column (missing cells are empty, extra ones ignored).
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }

  // The header line and then one line per row, each at most `width` columns
  // wide, trailing blanks trimmed.
  std::vector<std::string> render(std::size_t width) const;

  // The headers of the columns render(width) shows (for tests and the hint
  // line).
  std::vector<std::string> shown_headers(std::size_t width) const;

 private:
  struct Layout {
    std::vector<std::size_t> index;   // the shown columns
    std::vector<std::size_t> widths;  // their widths
  };
  Layout layout(std::size_t width) const;
  std::size_t natural_width(std::size_t column) const;
  std::string line(const std::vector<std::string>& cells, const Layout& l, bool header,
                   std::size_t width) const;

  std::vector<TextColumn> columns_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace zfleet::cli
