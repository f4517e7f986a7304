#include "tools/cli/text_columns.h"

#include <algorithm>

#include "tools/cli/human_units.h"

namespace zfleet::cli {

std::size_t TextTable::natural_width(std::size_t c) const {
  const auto& col = columns_[c];
  std::size_t w = std::max(col.width, display_width(col.header));
  if (!col.flexible) return w;
  for (const auto& row : rows_)
    if (c < row.size()) w = std::max(w, display_width(row[c]));
  return w;
}

TextTable::Layout TextTable::layout(std::size_t width) const {
  Layout l;
  for (std::size_t c = 0; c < columns_.size(); ++c) l.index.push_back(c);
  auto needed = [&] {
    std::size_t sum = l.index.empty() ? 0 : l.index.size() - 1;  // the spaces between
    for (auto c : l.index) sum += columns_[c].width;
    return sum;
  };
  while (needed() > width) {
    auto worst = std::max_element(l.index.begin(), l.index.end(), [&](std::size_t a, std::size_t b) {
      return columns_[a].drop < columns_[b].drop;
    });
    if (worst == l.index.end() || columns_[*worst].drop == 0) break;
    l.index.erase(worst);
  }
  std::size_t spare = width > needed() ? width - needed() : 0;
  std::vector<std::size_t> natural;
  for (auto c : l.index) {
    l.widths.push_back(columns_[c].width);
    natural.push_back(natural_width(c));
  }
  // One column at a time in turn: a long host name does not starve the ids.
  for (bool grew = true; spare > 0 && grew;) {
    grew = false;
    for (std::size_t i = 0; i < l.index.size() && spare > 0; ++i) {
      if (!columns_[l.index[i]].flexible || l.widths[i] >= natural[i]) continue;
      ++l.widths[i];
      --spare;
      grew = true;
    }
  }
  return l;
}

std::string TextTable::line(const std::vector<std::string>& cells, const Layout& l, bool header,
                            std::size_t width) const {
  std::string out;
  for (std::size_t i = 0; i < l.index.size(); ++i) {
    const auto& col = columns_[l.index[i]];
    std::string_view raw = header ? std::string_view(col.header)
                           : l.index[i] < cells.size() ? std::string_view(cells[l.index[i]])
                                                      : std::string_view();
    std::size_t w = l.widths[i];
    std::string cell = col.cut == TextColumn::Cut::middle ? fit_middle(raw, w) : fit_end(raw, w);
    std::string pad(w - display_width(cell), ' ');
    if (i > 0) out += ' ';
    out += col.left ? cell + pad : pad + cell;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return display_width(out) > width ? fit_end(out, width) : out;
}

std::vector<std::string> TextTable::render(std::size_t width) const {
  auto l = layout(width);
  std::vector<std::string> out{line({}, l, true, width)};
  for (const auto& row : rows_) out.push_back(line(row, l, false, width));
  return out;
}

std::vector<std::string> TextTable::shown_headers(std::size_t width) const {
  std::vector<std::string> out;
  for (auto c : layout(width).index) out.push_back(columns_[c].header);
  return out;
}

}  // namespace zfleet::cli
