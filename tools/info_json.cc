// cr_info --json: the image as one JSON object whose record members are the records'
// own field names (each record's fields() list), so the output follows the format.
#include <cstring>
#include <type_traits>

#include "info.h"
#include "info_names.h"

namespace crest {

namespace {

// Writes indented JSON; as a field visitor it turns a record into an object.
class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void open(char bracket) {
    out_ += bracket;
    ++depth_;
    first_ = true;
  }
  void close(char bracket) {
    --depth_;
    if (!first_) newline();
    out_ += bracket;
    first_ = false;
  }
  void key(const char* name) {
    item();
    string(name);
    out_ += ": ";
  }
  // Before an array element.
  void item() {
    if (!first_) out_ += ',';
    newline();
    first_ = false;
  }

  template <typename T>
  void field(const char* name, const T& v) {
    key(name);
    value(v);
  }

  template <typename T>
  void value(const T& v) {
    if constexpr (std::is_same_v<T, FdKind>) {
      string(fd_kind_label(v));
    } else if constexpr (std::is_same_v<T, VmaKind>) {
      string(vma_kind_name(v));
    } else if constexpr (std::is_enum_v<T>) {
      out_ += std::to_string(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_integral_v<T>) {
      out_ += std::to_string(+v);
    } else if constexpr (std::is_same_v<T, std::string>) {
      string(v);
    } else if constexpr (std::is_same_v<T, std::vector<uint8_t>>) {
      std::string hex;
      for (uint8_t b : v) hex += format("%02x", b);
      string(hex);
    } else if constexpr (requires { v.size(); v[0]; typename T::value_type; }) {
      open('[');
      for (const auto& item_value : v) {
        item();
        value(item_value);
      }
      close(']');
    } else {
      open('{');
      const_cast<T&>(v).fields(*this);
      close('}');
    }
  }

  // Bytes outside printable ASCII as \u00XX (paths need not be UTF-8).
  void string(const std::string& s) {
    out_ += '"';
    for (unsigned char c : s) {
      if (c == '"' || c == '\\') out_ += format("\\%c", c);
      else if (c < 0x20 || c >= 0x7f) out_ += format("\\u%04x", c);
      else out_ += static_cast<char>(c);
    }
    out_ += '"';
  }

 private:
  void newline() {
    out_ += '\n';
    out_.append(2 * depth_, ' ');
  }
  std::string& out_;
  int depth_ = 0;
  bool first_ = true;
};

// `key`: an array of one object per entry of `map`, whose members `members` writes.
template <typename Map, typename F>
void objects(JsonWriter& j, const char* key, const Map& map, F members) {
  j.key(key);
  j.open('[');
  for (const auto& [k, v] : map) {
    j.item();
    j.open('{');
    members(k, v);
    j.close('}');
  }
  j.close(']');
}

void write_process(JsonWriter& j, const ProcessImage& p, uint64_t pages) {
  j.open('{');
  j.field("process", p.process);
  j.field("threads", p.threads);
  j.field("signals", p.signals);
  j.field("fds", p.fds);
  j.field("memory", p.memory);
  j.field("sysv_ipc", p.sysv_ipc);
  j.field("saved_pages", pages);
  objects(j, "file_data", p.file_data, [&](const auto& fd, const auto& bytes) {
    j.field("fd", fd);
    j.field("bytes", static_cast<uint64_t>(bytes.size()));
  });
  objects(j, "pipe_data", p.pipe_data, [&](const auto& id, const auto& contents) {
    j.field("pipe_id", id);
    j.field("size", contents.size);
    j.field("bytes", static_cast<uint64_t>(contents.bytes.size()));
  });
  objects(j, "socket_data", p.socket_data, [&](const auto& inode, const auto& messages) {
    j.field("inode", inode);
    j.field("messages", static_cast<uint64_t>(messages.size()));
  });
  j.close('}');
}

}  // namespace

void print_json(const std::string& name, const VerifiedImage& image, FILE* out) {
  std::string text;
  JsonWriter j(text);
  const ImageHeader& h = image.header;
  j.open('{');
  j.field("file", name);
  j.field("bytes", image.bytes);
  j.key("verified");
  text += "true";
  j.key("directory_member");
  text += image.directory_member ? "true" : "false";
  j.key("header");
  j.open('{');
  j.field("format_version", h.format_version);
  j.field("arch", arch_name(h.arch));
  j.field("page_size", h.page_size);
  j.field("kernel_release", std::string(h.kernel_release, strnlen(h.kernel_release, sizeof h.kernel_release)));
  j.field("crest_version", std::string(h.crest_version, strnlen(h.crest_version, sizeof h.crest_version)));
  j.close('}');
  j.field("tree", image.tree);
  j.key("processes");
  j.open('[');
  for (const ProcessImage& p : image.processes) {
    j.item();
    auto pages = image.pages.find(p.process.pid);
    write_process(j, p, pages == image.pages.end() ? 0 : pages->second);
  }
  j.close(']');
  j.field("page_sections", image.page_sections);
  j.field("compressed_sections", image.compressed_sections);
  j.close('}');
  text += '\n';
  fputs(text.c_str(), out);
}

}  // namespace crest
