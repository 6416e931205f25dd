#include "engine/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/check.h"

namespace trimserve {
namespace {

using nlohmann::json;

// The reference implementation refuses headers above 100 MB; a larger one is garbage.
constexpr uint64_t kMaxHeaderBytes = 100ull * 1024 * 1024;

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string join_path(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

Status open_error(const std::string& path, int err) {
  std::string m = path + ": " + std::strerror(err);
  if (err == ENOENT) return not_found(m);
  if (err == EACCES) return Status(ErrorCode::kPermissionDenied, m);
  return invalid_argument(m);
}

// A non-negative JSON integer, or nullopt.
std::optional<uint64_t> as_uint(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_number_integer() && j.get<int64_t>() >= 0) return static_cast<uint64_t>(j.get<int64_t>());
  return std::nullopt;
}

struct Span {
  uint64_t begin, end;
  size_t tensor;  // index into tensors_
};

}  // namespace

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

Result<std::unique_ptr<SafetensorsFile>> SafetensorsFile::open(const std::string& path) {
  std::unique_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->path_ = path;
  file->file_name_ = base_name(path);

  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return open_error(path, errno);
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return open_error(path, err);
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return invalid_argument(path + ": not a regular file");
  }
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ < 8) {
    ::close(fd);
    return data_loss(file->file_name_ + ": file truncated: " + std::to_string(file->size_) +
                     " bytes is too small for a safetensors header");
  }
  void* map = ::mmap(nullptr, file->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  const int map_err = errno;
  ::close(fd);  // the mapping keeps the file alive
  if (map == MAP_FAILED) return open_error(path, map_err);
  file->map_ = map;

  TS_RETURN_IF_ERROR(file->parse_header());
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

const TensorView* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

Status SafetensorsFile::parse_header() {
  const auto* bytes = static_cast<const unsigned char*>(map_);
  uint64_t header_len = 0;
  for (int i = 7; i >= 0; --i) header_len = (header_len << 8) | bytes[i];  // little-endian
  const std::string& f = file_name_;
  if (header_len > size_ - 8) {
    return data_loss(f + ": header length " + std::to_string(header_len) +
                     " is larger than the file (" + std::to_string(size_) + " bytes)");
  }
  if (header_len > kMaxHeaderBytes) {
    return data_loss(f + ": header length " + std::to_string(header_len) +
                     " exceeds the 100 MB limit");
  }

  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + header_len);
  } catch (const json::exception& e) {
    return data_loss(f + ": header is not valid JSON: " + e.what());
  }
  if (!header.is_object()) return data_loss(f + ": header is not a JSON object");

  const uint64_t data_size = size_ - 8 - header_len;
  const unsigned char* data_base = bytes + 8 + header_len;
  std::vector<Span> spans;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& name = it.key();
    const json& entry = it.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) return data_loss(f + ": __metadata__ is not a JSON object");
      for (auto m = entry.begin(); m != entry.end(); ++m) {
        if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string where = f + ": tensor " + name + ": ";
    if (!entry.is_object()) return data_loss(where + "entry is not a JSON object");
    if (!entry.contains("dtype") || !entry["dtype"].is_string()) {
      return data_loss(where + "missing or non-string \"dtype\"");
    }
    const std::string dtype_text = entry["dtype"].get<std::string>();
    const std::optional<DType> dtype = dtype_from_name(dtype_text);
    if (!dtype) return data_loss(where + "unknown dtype '" + dtype_text + "'");

    if (!entry.contains("shape") || !entry["shape"].is_array()) {
      return data_loss(where + "missing or non-array \"shape\"");
    }
    TensorView view;
    view.name = name;
    view.dtype = *dtype;
    view.file_name = f;
    uint64_t numel = 1;
    for (const json& d : entry["shape"]) {
      const std::optional<uint64_t> dim = as_uint(d);
      if (!dim || *dim > static_cast<uint64_t>(INT64_MAX)) {
        return data_loss(where + "shape has a bad dimension " + d.dump());
      }
      if (__builtin_mul_overflow(numel, *dim, &numel)) return data_loss(where + "shape overflows");
      view.shape.push_back(static_cast<int64_t>(*dim));
    }
    uint64_t need = 0;
    if (__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(*dtype)), &need)) {
      return data_loss(where + "shape overflows");
    }

    const json* offsets = entry.contains("data_offsets") ? &entry["data_offsets"] : nullptr;
    std::optional<uint64_t> begin, end;
    if (offsets != nullptr && offsets->is_array() && offsets->size() == 2) {
      begin = as_uint((*offsets)[0]);
      end = as_uint((*offsets)[1]);
    }
    if (!begin || !end || *begin > *end) {
      return data_loss(where + "bad \"data_offsets\" " +
                       (offsets != nullptr ? offsets->dump() : std::string("(missing)")) +
                       ", expected [begin, end] with begin <= end");
    }
    if (*end - *begin != need) {
      return data_loss(where + "shape " + shape_to_string(view.shape) + " of " + dtype_text +
                       " needs " + std::to_string(need) + " bytes but data_offsets span " +
                       std::to_string(*end - *begin));
    }
    view.num_bytes = static_cast<size_t>(need);
    spans.push_back(Span{*begin, *end, tensors_.size()});
    index_[name] = tensors_.size();
    tensors_.push_back(std::move(view));
  }

  // Truncation first: a short file is the common failure (interrupted download or copy), and
  // its message should say so rather than complain about the layout.
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  for (const Span& s : spans) {
    if (s.end > data_size) {
      return data_loss(f + ": file truncated: tensor " + tensors_[s.tensor].name +
                       " data ends at byte " + std::to_string(8 + header_len + s.end) +
                       " but the file has " + std::to_string(size_) + " bytes");
    }
  }
  uint64_t expected = 0;
  const Span* prev = nullptr;
  for (const Span& s : spans) {
    if (s.begin < expected) {
      return data_loss(f + ": tensors " + tensors_[prev->tensor].name + " [" +
                       std::to_string(prev->begin) + ", " + std::to_string(prev->end) + ") and " +
                       tensors_[s.tensor].name + " [" + std::to_string(s.begin) + ", " +
                       std::to_string(s.end) + ") overlap");
    }
    if (s.begin > expected) {
      return data_loss(f + ": " + std::to_string(s.begin - expected) +
                       " unreferenced bytes before tensor " + tensors_[s.tensor].name +
                       " (data_offsets must tile the data without gaps)");
    }
    expected = s.end;
    prev = &s;
  }
  if (expected != data_size) {
    return data_loss(f + ": " + std::to_string(data_size - expected) +
                     " trailing bytes after the last tensor's data");
  }
  for (const Span& s : spans) tensors_[s.tensor].data = data_base + s.begin;
  return Status::ok_status();
}

Result<std::unique_ptr<SafetensorsCheckpoint>> SafetensorsCheckpoint::open_dir(
    const std::string& model_dir) {
  struct stat st {};
  if (::stat(model_dir.c_str(), &st) != 0) {
    return not_found("model directory '" + model_dir + "' does not exist");
  }
  if (!S_ISDIR(st.st_mode)) return invalid_argument("'" + model_dir + "' is not a directory");

  std::unique_ptr<SafetensorsCheckpoint> ckpt(new SafetensorsCheckpoint());
  const std::string single = join_path(model_dir, "model.safetensors");
  const std::string index_path = join_path(model_dir, "model.safetensors.index.json");

  // Same preference as transformers: a single model.safetensors wins over an index.
  if (::stat(single.c_str(), &st) == 0) {
    Result<std::unique_ptr<SafetensorsFile>> file = SafetensorsFile::open(single);
    if (!file.ok()) return file.status();
    for (const TensorView& v : (*file)->tensors()) ckpt->by_name_[v.name] = &v;
    ckpt->files_.push_back(std::move(file).value());
    return ckpt;
  }
  if (::stat(index_path.c_str(), &st) != 0) {
    return not_found("no model.safetensors or model.safetensors.index.json in '" + model_dir +
                     "'");
  }

  const std::string idx = "model.safetensors.index.json";
  json index;
  {
    std::ifstream in(index_path, std::ios::binary);
    if (!in) return open_error(index_path, errno);
    std::stringstream text;
    text << in.rdbuf();
    try {
      index = json::parse(text.str());
    } catch (const json::exception& e) {
      return invalid_argument(idx + ": not valid JSON: " + e.what());
    }
  }
  if (!index.is_object() || !index.contains("weight_map") || !index["weight_map"].is_object()) {
    return invalid_argument(idx + ": expected an object with a \"weight_map\" object");
  }
  std::map<std::string, std::string> weight_map;  // tensor -> shard
  std::map<std::string, std::string> first_tensor_of;  // shard -> a tensor it should hold
  for (auto it = index["weight_map"].begin(); it != index["weight_map"].end(); ++it) {
    if (!it.value().is_string()) {
      return invalid_argument(idx + ": weight_map[\"" + it.key() + "\"]: expected a file name, got " +
                              it.value().dump());
    }
    const std::string shard = it.value().get<std::string>();
    // Shard names come from an untrusted file: keep them inside the model directory.
    if (shard.empty() || shard.find('/') != std::string::npos || shard == "." || shard == "..") {
      return invalid_argument(idx + ": weight_map[\"" + it.key() + "\"]: '" + shard +
                              "' is not a plain file name");
    }
    weight_map[it.key()] = shard;
    first_tensor_of.emplace(shard, it.key());
  }
  for (const auto& [shard, tensor] : first_tensor_of) {
    Result<std::unique_ptr<SafetensorsFile>> file =
        SafetensorsFile::open(join_path(model_dir, shard));
    if (!file.ok()) {
      if (file.status().code() == ErrorCode::kNotFound) {
        return not_found(idx + ": shard " + shard + " (listed for " + tensor +
                         ") does not exist in '" + model_dir + "'");
      }
      return file.status();
    }
    for (const TensorView& v : (*file)->tensors()) {
      auto listed = weight_map.find(v.name);
      if (listed == weight_map.end()) {
        return invalid_argument(v.name + " in " + shard + ": tensor not listed in " + idx);
      }
      if (listed->second != shard) {
        return invalid_argument(v.name + " in " + shard + ": " + idx + " places it in " +
                                listed->second);
      }
      if (!ckpt->by_name_.emplace(v.name, &v).second) {
        return invalid_argument(v.name + ": tensor appears in more than one shard");
      }
    }
    ckpt->files_.push_back(std::move(file).value());
  }
  for (const auto& [tensor, shard] : weight_map) {
    if (ckpt->by_name_.count(tensor) == 0) {
      return data_loss(idx + " lists " + tensor + " in " + shard + " but that file has no such tensor");
    }
  }
  return ckpt;
}

const TensorView* SafetensorsCheckpoint::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(by_name_.size());
  for (const auto& [name, view] : by_name_) out.push_back(name);
  return out;
}

std::string SafetensorsCheckpoint::files_description() const {
  std::string out;
  for (const auto& f : files_) {
    if (!out.empty()) out += ", ";
    out += f->file_name();
  }
  return out;
}

Result<Tensor> tensor_to_f32(const TensorView& view) {
  if (!is_weight_dtype(view.dtype)) {
    return invalid_argument(view.name + " in " + view.file_name + ": dtype " +
                            dtype_name(view.dtype) + ", expected F32, F16 or BF16");
  }
  Tensor t;
  t.shape = view.shape;
  t.data.resize(static_cast<size_t>(view.numel()));
  widen_to_f32(view.data, view.dtype, t.data.size(), t.data.data());
  return t;
}

}  // namespace trimserve
