// Field visitors: each record lists its fields once in `template <class V> void fields(V&)`;
// the Encoder, Decoder and Printer below walk that list (little-endian, no padding).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace crest {

template <typename T>
concept Record = requires(T& t, int& v) { t.fields(v); };

class Encoder {
 public:
  std::vector<uint8_t>& bytes() { return out_; }

  template <typename T>
  void field(const char*, const T& value) {
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      put_raw(&value, sizeof value);
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<uint8_t>>) {
      uint32_t n = value.size();
      put_raw(&n, 4);
      put_raw(value.data(), value.size());
    } else if constexpr (requires { value.size(); value[0]; typename T::value_type; }) {
      uint32_t n = value.size();
      put_raw(&n, 4);
      for (auto& item : value) field("", item);
    } else {
      const_cast<T&>(value).fields(*this);
    }
  }

  void put_raw(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    out_.insert(out_.end(), b, b + n);
  }

 private:
  std::vector<uint8_t> out_;
};

class Decoder {
 public:
  Decoder(const uint8_t* data, size_t size, const char* what) : p_(data), end_(data + size), what_(what) {}

  template <typename T>
  void field(const char* name, T& value) {
    if (failed_) return;
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      get_raw(&value, sizeof value, name);
    } else if constexpr (std::is_same_v<T, std::string> || std::is_same_v<T, std::vector<uint8_t>>) {
      uint32_t n = 0;
      get_raw(&n, 4, name);
      if (failed_) return;
      if (n > static_cast<size_t>(end_ - p_)) return fail(name);
      value.assign(p_, p_ + n);
      p_ += n;
    } else if constexpr (requires { value.size(); value.resize(0); typename T::value_type; }) {
      uint32_t n = 0;
      get_raw(&n, 4, name);
      if (failed_) return;
      if (n > static_cast<size_t>(end_ - p_)) return fail(name);  // every item takes >= 1 byte
      value.resize(n);
      for (auto& item : value) field(name, item);
    } else if constexpr (requires { std::tuple_size<T>::value; }) {
      uint32_t n = 0;
      get_raw(&n, 4, name);
      if (n != value.size()) return fail(name);
      for (auto& item : value) field(name, item);
    } else {
      value.fields(*this);
    }
  }

  void get_raw(void* out, size_t n, const char* name) {
    if (failed_) return;
    if (n > static_cast<size_t>(end_ - p_)) return fail(name);
    memcpy(out, p_, n);
    p_ += n;
  }

  // Call after decoding: a record must use its payload exactly.
  Result<void> finish() const {
    if (failed_) return Error::corrupt(format("corrupt %s record: field '%s' runs past its section", what_, bad_field_));
    if (p_ != end_) return Error::corrupt(format("corrupt %s record: %zu unexpected trailing bytes", what_, size_t(end_ - p_)));
    return {};
  }

 private:
  void fail(const char* name) {
    failed_ = true;
    bad_field_ = name;
  }
  const uint8_t* p_;
  const uint8_t* end_;
  const char* what_;
  bool failed_ = false;
  const char* bad_field_ = "";
};

// Prints "name: value" lines, indented for nested records (cr_info).
class Printer {
 public:
  explicit Printer(std::string& out, int indent = 0) : out_(out), indent_(indent) {}

  template <typename T>
  void field(const char* name, const T& value) {
    std::string pad(indent_ * 2, ' ');
    if constexpr (std::is_integral_v<T> || std::is_enum_v<T>) {
      out_ += format("%s%s: %lld (0x%llx)\n", pad.c_str(), name, static_cast<long long>(value),
                     static_cast<unsigned long long>(value));
    } else if constexpr (std::is_same_v<T, std::string>) {
      out_ += format("%s%s: \"%s\"\n", pad.c_str(), name, value.c_str());
    } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
      out_ += format("%s%s: <%zu bytes>\n", pad.c_str(), name, value.size());
    } else if constexpr (requires { value.size(); value[0]; typename T::value_type; }) {
      out_ += format("%s%s: [%zu]\n", pad.c_str(), name, value.size());
      if constexpr (std::is_integral_v<typename T::value_type>) {
        std::string line = pad + "  ";
        for (auto& v : value) line += format("%llx ", static_cast<unsigned long long>(v));
        out_ += line + "\n";
      } else {
        Printer inner(out_, indent_ + 1);
        for (auto& item : value) {
          out_ += pad + "  -\n";
          Printer deeper(out_, indent_ + 2);
          const_cast<typename T::value_type&>(item).fields(deeper);
        }
      }
    } else {
      out_ += format("%s%s:\n", pad.c_str(), name);
      Printer inner(out_, indent_ + 1);
      const_cast<T&>(value).fields(inner);
    }
  }

 private:
  std::string& out_;
  int indent_;
};

template <typename R>
std::vector<uint8_t> encode_record(const R& r) {
  Encoder e;
  const_cast<R&>(r).fields(e);
  return std::move(e.bytes());
}

template <typename R>
Result<R> decode_record(const std::vector<uint8_t>& payload, const char* what) {
  R r{};
  Decoder d(payload.data(), payload.size(), what);
  r.fields(d);
  CR_TRY(d.finish());
  return r;
}

}  // namespace crest
