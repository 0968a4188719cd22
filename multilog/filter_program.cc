#include "multilog/filter_program.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace loupe {

uint64_t FilterProgram::Key(Load load, const uint8_t* p) {
  switch (load) {
    case Load::kU8:
      return Read<uint8_t>(p);
    case Load::kU16:
      return Read<uint16_t>(p);
    case Load::kU32:
      return Read<uint32_t>(p);
    case Load::kU64:
      return Read<uint64_t>(p);
    case Load::kI8:
      return SignedKey<int8_t>(p);
    case Load::kI16:
      return SignedKey<int16_t>(p);
    case Load::kI32:
      return SignedKey<int32_t>(p);
    case Load::kI64:
      return SignedKey<int64_t>(p);
    case Load::kF32:
      return F32Key(p);
    case Load::kF64:
      return F64Key(p);
    case Load::kBe32:
      return BigEndian32(Read<uint32_t>(p));
    case Load::kBe48:
      return Be48Key(p);
    case Load::kBe128:
    case Load::kBytes:
      break;
  }
  assert(false && "no 64-bit key for this load");
  return 0;
}

namespace {

bool IsFloat(ColumnType type) {
  return type == ColumnType::kF32 || type == ColumnType::kF64;
}

// The value of a float column's bytes.
double FloatValue(ColumnType type, const uint8_t* p) {
  if (type == ColumnType::kF32) {
    float f;
    std::memcpy(&f, p, sizeof(f));
    return f;
  }
  double d;
  std::memcpy(&d, p, sizeof(d));
  return d;
}

template <typename T>
std::vector<uint8_t> Bytes(T value) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &value, sizeof(T));
  return out;
}

}  // namespace

FilterProgram::Load FilterProgram::LoadOf(ColumnType type) {
  switch (type) {
    case ColumnType::kBool:
    case ColumnType::kU8:
      return Load::kU8;
    case ColumnType::kU16:
      return Load::kU16;
    case ColumnType::kU32:
      return Load::kU32;
    case ColumnType::kU64:
      return Load::kU64;
    case ColumnType::kI8:
      return Load::kI8;
    case ColumnType::kI16:
      return Load::kI16;
    case ColumnType::kI32:
      return Load::kI32;
    case ColumnType::kI64:
      return Load::kI64;
    case ColumnType::kF32:
      return Load::kF32;
    case ColumnType::kF64:
      return Load::kF64;
    case ColumnType::kIpv4:
      return Load::kBe32;
    case ColumnType::kMac:
      return Load::kBe48;
    case ColumnType::kIpv6:
      return Load::kBe128;
    case ColumnType::kString:
      return Load::kBytes;
  }
  return Load::kBytes;
}

Result<FilterProgram> FilterProgram::Compile(const Schema& schema,
                                             std::string_view text) {
  Result<BoundFilter> bound = ParseFilter(schema, text);
  if (!bound.ok()) return bound.status();
  return FromBound(*bound);
}

FilterProgram FilterProgram::FromBound(const BoundFilter& bound) {
  FilterProgram program;
  program.bound_ = bound;
  if (bound.nodes.empty()) return program;  // rejects everything
  // Emit() builds the code back to front (a node's targets exist before it
  // does), so every jump goes to a smaller index. Keep the instructions
  // reachable from the entry (constant folding can strand some, as in
  // `true || x`), in reverse, which makes every jump go forward.
  const uint32_t entry = program.Emit(0, kAccept, kReject);
  std::vector<Instruction> emitted = std::move(program.code_);
  std::vector<bool> reachable(emitted.size(), false);
  if (entry < kReject) reachable[entry] = true;
  for (size_t i = emitted.size(); i-- > 0;) {
    if (!reachable[i]) continue;
    for (uint32_t target : {emitted[i].on_true, emitted[i].on_false}) {
      if (target < kReject) reachable[target] = true;
    }
  }
  std::vector<uint32_t> index(emitted.size(), kReject);
  program.code_.clear();
  for (size_t i = emitted.size(); i-- > 0;) {
    if (!reachable[i]) continue;
    index[i] = static_cast<uint32_t>(program.code_.size());
    program.code_.push_back(emitted[i]);
  }
  auto renumber = [&index](uint32_t target) {
    return target >= kReject ? target : index[target];
  };
  for (Instruction& in : program.code_) {
    in.on_true = renumber(in.on_true);
    in.on_false = renumber(in.on_false);
  }
  program.entry_ = renumber(entry);
  return program;
}

uint32_t FilterProgram::Append(Instruction in) {
  code_.push_back(in);
  return static_cast<uint32_t>(code_.size() - 1);
}

uint32_t FilterProgram::Emit(uint32_t id, uint32_t on_true, uint32_t on_false) {
  assert(id < bound_.nodes.size());
  const FilterNode& node = bound_.nodes[id];
  switch (node.kind) {
    case FilterNode::Kind::kTrue:
      return on_true;
    case FilterNode::Kind::kNot:
      if (node.children.empty()) return on_false;
      return Emit(node.children[0], on_false, on_true);
    case FilterNode::Kind::kAnd: {
      uint32_t next = on_true;
      for (size_t i = node.children.size(); i-- > 0;) {
        next = Emit(node.children[i], next, on_false);
      }
      return next;
    }
    case FilterNode::Kind::kOr: {
      uint32_t next = on_false;
      for (size_t i = node.children.size(); i-- > 0;) {
        next = Emit(node.children[i], on_true, next);
      }
      return next;
    }
    case FilterNode::Kind::kCompare:
      return EmitCompare(node, on_true, on_false);
    case FilterNode::Kind::kInSet:
      return EmitSet(node, on_true, on_false);
    case FilterNode::Kind::kInPrefix:
      return EmitPrefix(node, on_true, on_false);
  }
  return on_false;
}

uint32_t FilterProgram::EmitRange(Load load, const Column& column, uint64_t lo,
                                  uint64_t hi, uint32_t on_true,
                                  uint32_t on_false) {
  if (lo > hi) return on_false;
  if (lo == 0 && hi == std::numeric_limits<uint64_t>::max()) return on_true;
  Instruction in{};
  in.opcode = static_cast<Opcode>(static_cast<uint8_t>(Opcode::kRangeU8) +
                                  static_cast<uint8_t>(load));
  in.offset = column.offset;
  in.on_true = on_true;
  in.on_false = on_false;
  in.lo = lo;
  in.span = hi - lo;
  return Append(in);
}

uint32_t FilterProgram::EmitRange128(const Column& column, Key128 lo, Key128 hi,
                                     uint32_t on_true, uint32_t on_false) {
  if (lo > hi) return on_false;
  if (lo == 0 && hi == ~Key128{0}) return on_true;
  Instruction in{};
  in.opcode = Opcode::kRangeBe128;
  in.offset = column.offset;
  in.on_true = on_true;
  in.on_false = on_false;
  Key128 span = hi - lo;
  in.lo = static_cast<uint64_t>(lo >> 64);
  in.lo_low = static_cast<uint64_t>(lo);
  in.span = static_cast<uint64_t>(span >> 64);
  in.span_low = static_cast<uint64_t>(span);
  return Append(in);
}

uint32_t FilterProgram::EmitCompare(const FilterNode& node, uint32_t on_true,
                                    uint32_t on_false) {
  const Column& column = *node.column;
  if (node.value.size() != column.width) {
    assert(false && "a compared value has the column's width");
    return on_false;
  }
  const Load load = LoadOf(column.type);
  const uint8_t* value = node.value.data();
  const CompareOp op = node.op;
  if (load == Load::kBytes) {
    Instruction in{};
    in.opcode = Opcode::kBytesCompare;
    in.op = op;
    in.width = static_cast<uint16_t>(column.width);
    in.offset = column.offset;
    in.on_true = on_true;
    in.on_false = on_false;
    in.pool = static_cast<uint32_t>(bytes_.size());
    bytes_.insert(bytes_.end(), node.value.begin(), node.value.end());
    return Append(in);
  }
  if (load == Load::kBe128) {
    const Key128 k = Be128Key(value);
    const Key128 max = ~Key128{0};
    switch (op) {
      case CompareOp::kEq:
        return EmitRange128(column, k, k, on_true, on_false);
      case CompareOp::kNe:
        return EmitRange128(column, k, k, on_false, on_true);
      case CompareOp::kLt:
        if (k == 0) return on_false;
        return EmitRange128(column, 0, k - 1, on_true, on_false);
      case CompareOp::kLe:
        return EmitRange128(column, 0, k, on_true, on_false);
      case CompareOp::kGt:
        if (k == max) return on_false;
        return EmitRange128(column, k + 1, max, on_true, on_false);
      case CompareOp::kGe:
        return EmitRange128(column, k, max, on_true, on_false);
    }
    return on_false;
  }
  // The keys equal to the value form [equal_lo, equal_hi] (two keys for a
  // float zero: -0 == +0); every key of the type lies in [min, max] (for
  // floats, the NaNs lie outside).
  uint64_t equal_lo = Key(load, value);
  uint64_t equal_hi = equal_lo;
  uint64_t min = 0;
  uint64_t max = std::numeric_limits<uint64_t>::max();
  if (IsFloat(column.type)) {
    const double v = FloatValue(column.type, value);
    if (std::isnan(v)) return op == CompareOp::kNe ? on_true : on_false;
    const bool f32 = column.type == ColumnType::kF32;
    auto key = [&](double d) {
      return Key(load, (f32 ? Bytes(static_cast<float>(d)) : Bytes(d)).data());
    };
    min = key(-std::numeric_limits<double>::infinity());
    max = key(std::numeric_limits<double>::infinity());
    if (v == 0) {
      equal_lo = key(-0.0);
      equal_hi = key(0.0);
    }
  }
  switch (op) {
    case CompareOp::kEq:
      return EmitRange(load, column, equal_lo, equal_hi, on_true, on_false);
    case CompareOp::kNe:
      return EmitRange(load, column, equal_lo, equal_hi, on_false, on_true);
    case CompareOp::kLt:
      if (equal_lo <= min) return on_false;
      return EmitRange(load, column, min, equal_lo - 1, on_true, on_false);
    case CompareOp::kLe:
      return EmitRange(load, column, min, equal_hi, on_true, on_false);
    case CompareOp::kGt:
      if (equal_hi >= max) return on_false;
      return EmitRange(load, column, equal_hi + 1, max, on_true, on_false);
    case CompareOp::kGe:
      return EmitRange(load, column, equal_lo, max, on_true, on_false);
  }
  return on_false;
}

uint32_t FilterProgram::EmitSet(const FilterNode& node, uint32_t on_true,
                                uint32_t on_false) {
  const Column& column = *node.column;
  const Load load = LoadOf(column.type);
  std::vector<std::vector<uint8_t>> members;
  for (const std::vector<uint8_t>& member : node.set) {
    assert(member.size() == column.width);
    if (member.size() == column.width) members.push_back(member);
  }
  Instruction in{};
  in.offset = column.offset;
  in.on_true = on_true;
  in.on_false = on_false;
  if (load == Load::kBytes) {
    // Same width: memcmp orders them (and avoids a GCC 12 false positive,
    // -Wstringop-overread, in vector's operator<).
    const size_t width = column.width;
    std::sort(members.begin(), members.end(),
              [width](const auto& a, const auto& b) {
                return std::memcmp(a.data(), b.data(), width) < 0;
              });
    members.erase(std::unique(members.begin(), members.end(),
                              [width](const auto& a, const auto& b) {
                                return std::memcmp(a.data(), b.data(), width) ==
                                       0;
                              }),
                  members.end());
    if (members.empty()) return on_false;
    in.opcode = Opcode::kBytesSet;
    in.width = static_cast<uint16_t>(column.width);
    in.pool = static_cast<uint32_t>(bytes_.size());
    in.count = static_cast<uint32_t>(members.size());
    for (const auto& member : members) {
      bytes_.insert(bytes_.end(), member.begin(), member.end());
    }
    return Append(in);
  }
  if (load == Load::kBe128) {
    std::vector<Key128> keys;
    for (const auto& member : members) keys.push_back(Be128Key(member.data()));
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (keys.empty()) return on_false;
    if (keys.size() == 1) {
      return EmitRange128(column, keys[0], keys[0], on_true, on_false);
    }
    in.opcode = Opcode::kSetBe128;
    in.pool = static_cast<uint32_t>(keys128_.size());
    in.count = static_cast<uint32_t>(keys.size());
    keys128_.insert(keys128_.end(), keys.begin(), keys.end());
    return Append(in);
  }
  std::vector<uint64_t> keys;
  for (const auto& member : members) {
    if (IsFloat(column.type)) {
      const double v = FloatValue(column.type, member.data());
      if (std::isnan(v)) continue;  // NaN equals nothing
      if (v == 0) {                 // -0 == +0: both keys
        const bool f32 = column.type == ColumnType::kF32;
        keys.push_back(Key(load, (f32 ? Bytes(-0.0f) : Bytes(-0.0)).data()));
        keys.push_back(Key(load, (f32 ? Bytes(0.0f) : Bytes(0.0)).data()));
        continue;
      }
    }
    keys.push_back(Key(load, member.data()));
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  if (keys.empty()) return on_false;
  if (keys.size() == 1) {
    return EmitRange(load, column, keys[0], keys[0], on_true, on_false);
  }
  in.opcode = static_cast<Opcode>(static_cast<uint8_t>(Opcode::kSetU8) +
                                  static_cast<uint8_t>(load));
  in.pool = static_cast<uint32_t>(keys64_.size());
  in.count = static_cast<uint32_t>(keys.size());
  const uint64_t span = keys.back() - keys.front();
  if (keys.size() >= kBitmapSetMin && span < kBitmapSpan) {
    // One load and a bit test instead of a scan: ports, protocols, ...
    in.bitmap = true;
    in.lo = keys.front();
    in.span = span;
    std::vector<uint64_t> words(span / 64 + 1, 0);
    for (uint64_t key : keys) {
      const uint64_t bit = key - keys.front();
      words[bit / 64] |= uint64_t{1} << (bit % 64);
    }
    keys64_.insert(keys64_.end(), words.begin(), words.end());
    return Append(in);
  }
  keys64_.insert(keys64_.end(), keys.begin(), keys.end());
  return Append(in);
}

uint32_t FilterProgram::EmitPrefix(const FilterNode& node, uint32_t on_true,
                                   uint32_t on_false) {
  const Column& column = *node.column;
  const uint32_t bits = node.prefix_bits;
  if (column.type == ColumnType::kIpv4 && node.value.size() == 4 &&
      bits <= 32) {
    if (bits == 0) return on_true;
    const uint32_t mask = 0xffffffffu << (32 - bits);
    const uint32_t lo = BigEndian32(Read<uint32_t>(node.value.data())) & mask;
    return EmitRange(Load::kBe32, column, lo, lo | ~mask, on_true, on_false);
  }
  if (column.type == ColumnType::kIpv6 && node.value.size() == 16 &&
      bits <= 128) {
    if (bits == 0) return on_true;
    const Key128 mask = ~Key128{0} << (128 - bits);
    const Key128 lo = Be128Key(node.value.data()) & mask;
    return EmitRange128(column, lo, lo | ~mask, on_true, on_false);
  }
  assert(false && "a prefix is on an ipv4 or ipv6 column");
  return on_false;
}

bool FilterProgram::MatchBytes(const Instruction& in,
                               const uint8_t* field) const {
  const uint8_t* pool = bytes_.data() + in.pool;
  if (in.opcode == Opcode::kBytesCompare) {
    const int c = std::memcmp(field, pool, in.width);
    switch (in.op) {
      case CompareOp::kEq:
        return c == 0;
      case CompareOp::kNe:
        return c != 0;
      case CompareOp::kLt:
        return c < 0;
      case CompareOp::kLe:
        return c <= 0;
      case CompareOp::kGt:
        return c > 0;
      case CompareOp::kGe:
        return c >= 0;
    }
    return false;
  }
  // kBytesSet: binary search over sorted members.
  uint32_t low = 0;
  uint32_t high = in.count;
  while (low < high) {
    const uint32_t mid = low + (high - low) / 2;
    const int c = std::memcmp(pool + size_t{mid} * in.width, field, in.width);
    if (c == 0) return true;
    if (c < 0) {
      low = mid + 1;
    } else {
      high = mid;
    }
  }
  return false;
}

std::string FilterProgram::Disassemble() const {
  static constexpr const char* kLoadNames[] = {
      "u8",  "u16", "u32", "u64",  "i8",  "i16",  "i32",
      "i64", "f32", "f64", "ipv4", "mac", "ipv6", "string",
  };
  auto target = [](uint32_t t) {
    if (t == kAccept) return std::string("accept");
    if (t == kReject) return std::string("reject");
    return std::to_string(t);
  };
  auto hex = [](uint64_t v) {
    char buffer[24];
    std::snprintf(buffer, sizeof(buffer), "0x%llx",
                  static_cast<unsigned long long>(v));
    return std::string(buffer);
  };
  std::string out = "entry " + target(entry_) + "\n";
  for (size_t i = 0; i < code_.size(); ++i) {
    const Instruction& in = code_[i];
    const auto opcode = static_cast<uint8_t>(in.opcode);
    out += std::to_string(i) + ": ";
    if (in.opcode <= Opcode::kRangeBe128) {
      out += std::string(kLoadNames[opcode]) + "@" + std::to_string(in.offset) +
             " in [";
      if (in.opcode == Opcode::kRangeBe128) {
        out += hex(in.lo) + ":" + hex(in.lo_low) + " +" + hex(in.span) + ":" +
               hex(in.span_low) + "]";
      } else {
        out += hex(in.lo) + ", " + hex(in.lo + in.span) + "]";
      }
    } else if (in.opcode <= Opcode::kSetBe128) {
      const uint8_t load = opcode - static_cast<uint8_t>(Opcode::kSetU8);
      out += std::string(kLoadNames[load]) + "@" + std::to_string(in.offset) +
             " in set of " + std::to_string(in.count);
      if (in.bitmap) out += " (bitmap from " + hex(in.lo) + ")";
    } else if (in.opcode == Opcode::kBytesCompare) {
      out += "string@" + std::to_string(in.offset) + " " +
             std::string(CompareOpName(in.op)) + " " +
             std::to_string(in.width) + " bytes";
    } else {
      out += "string@" + std::to_string(in.offset) + " in set of " +
             std::to_string(in.count);
    }
    out += " ? " + target(in.on_true) + " : " + target(in.on_false) + "\n";
  }
  return out;
}

}  // namespace loupe
