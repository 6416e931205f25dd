// Safetensors reading: one memory-mapped file (SafetensorsFile) and the set of files of one
// Hugging Face model directory (SafetensorsCheckpoint: model.safetensors, or the shards named by
// model.safetensors.index.json).
//
// Format: 8-byte little-endian header length N, N bytes of JSON
//   {name: {"dtype": "BF16", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}
// then the tensor bytes; offsets are relative to the first byte after the header.
//
// Files are untrusted: open() validates everything before any view is handed out — header
// length within the file, well-formed JSON of the right types, known dtype, byte size ==
// numel * dtype size, data inside the file (else "file truncated"), and offsets that tile the
// data region exactly (no overlap, no gap, no trailing bytes; the format forbids them). Errors
// start with the file name: "model.safetensors: file truncated: tensor model.norm.weight data
// ends at byte 4096 but the file has 2048 bytes".
//
// Lifetime: the mapping lives as long as the SafetensorsFile; TensorView::data points into it.
// Weight loading keeps the files open only while it widens the tensors into owned f32 copies.
// Objects are immutable after open(), so concurrent reads are safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "engine/dtype.h"
#include "engine/tensor.h"

namespace trimserve {

// One tensor inside a mapped file. `data` is byte-aligned only.
struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const unsigned char* data = nullptr;
  size_t num_bytes = 0;
  std::string file_name;  // base name of the file holding it, for error messages

  int64_t numel() const;
};

class SafetensorsFile {
 public:
  // Maps `path` read-only and validates its header. kNotFound when the file does not exist,
  // kDataLoss for a truncated or malformed file.
  static Result<std::unique_ptr<SafetensorsFile>> open(const std::string& path);

  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::string& path() const { return path_; }
  const std::string& file_name() const { return file_name_; }  // base name
  size_t file_size() const { return size_; }
  // Tensors in header (JSON key) order.
  const std::vector<TensorView>& tensors() const { return tensors_; }
  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // "__metadata__" string entries (non-string values are skipped).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  SafetensorsFile() = default;
  Status parse_header();

  std::string path_;
  std::string file_name_;
  void* map_ = nullptr;
  size_t size_ = 0;
  std::vector<TensorView> tensors_;
  std::map<std::string, size_t> index_;  // name -> position in tensors_
  std::map<std::string, std::string> metadata_;
};

// All tensors of a model directory. With model.safetensors.index.json, every shard named in
// its weight_map is opened and cross-checked: each listed tensor must be in the listed shard,
// each shard tensor must be listed, and no name may appear twice. Shard names must be plain
// file names inside the directory.
class SafetensorsCheckpoint {
 public:
  // kNotFound when neither model.safetensors nor the index exists, or a shard is missing.
  static Result<std::unique_ptr<SafetensorsCheckpoint>> open_dir(const std::string& model_dir);

  // nullptr when absent.
  const TensorView* find(const std::string& name) const;
  // Every tensor name, sorted.
  std::vector<std::string> names() const;
  // The file names searched, for "missing tensor X (looked in ...)": "model.safetensors" or
  // "model-00001-of-00002.safetensors, model-00002-of-00002.safetensors".
  std::string files_description() const;
  const std::vector<std::unique_ptr<SafetensorsFile>>& files() const { return files_; }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const TensorView*> by_name_;
};

// Widens a F32/F16/BF16 view into an owned f32 tensor with the same shape. Errors (kInvalidArgument)
// for any other dtype: "<name> in <file>: dtype I64, expected F32, F16 or BF16".
Result<Tensor> tensor_to_f32(const TensorView& view);

}  // namespace trimserve
