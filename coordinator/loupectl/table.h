// Table: loupectl's human output, columns aligned under a header row.
//
//   NAME      EXPRESSION              COVERS FROM
//   tcp_syn   tcp_flags == 2          0
//   big       frame_len > 1400        65536
//
// Columns are separated by two spaces; widths count UTF-8 code points, so
// that "µs" or "→" do not skew the alignment; no line has trailing spaces.
// Cells are single-line: control characters are shown as '?' here (callers
// escape values that need it). A value type, not synchronized.
#ifndef LOUPE_COORDINATOR_LOUPECTL_TABLE_H_
#define LOUPE_COORDINATOR_LOUPECTL_TABLE_H_

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace loupe::ctl {

class Table {
 public:
  enum class Align { kLeft, kRight };

  explicit Table(std::vector<std::string> headers);

  // Right alignment suits numbers; every column starts left-aligned.
  Table& SetAlign(size_t column, Align align);
  // Rows shorter than the header are padded with empty cells; longer ones
  // are cut.
  void AddRow(std::vector<std::string> cells);

  size_t rows() const { return rows_.size(); }
  size_t columns() const { return headers_.size(); }

  // The header and every row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::string> headers_;
  std::vector<Align> align_;
  std::vector<std::vector<std::string>> rows_;
};

// The display width of UTF-8 `text` (code points; no wide-glyph tables).
size_t DisplayWidth(std::string_view text);

}  // namespace loupe::ctl

#endif  // LOUPE_COORDINATOR_LOUPECTL_TABLE_H_
