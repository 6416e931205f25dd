// Engine: runs model steps over KV storage it owns; kvpool owns the metadata (DESIGN.md §4).
//
// Threading: an Engine is owned and called by one thread (the engine loop, or a CLI command).
// K/V storage: num_pages pages of B entries; a page belongs to one lane (sequence, layer,
// kv-head), so each page stores B rows of K[D] and B rows of V[D].
#pragma once

#include <cstdint>

#include "common/status.h"
#include "engine/model_config.h"
#include "engine/step_io.h"
#include "kvpool/compaction_plan.h"

namespace trimserve {

class Engine {
 public:
  virtual ~Engine() = default;

  virtual const ModelConfig& model_config() const = 0;
  virtual int64_t num_pages() const = 0;  // storage capacity the KvPool must be sized to
  virtual int64_t page_size() const = 0;  // B

  // Runs one step (see step_io.h). Errors: a token id outside [0, V), a position past
  // max_position_embeddings, a lane without room (kInvalidArgument / kOutOfRange). On error
  // nothing observable changed in any lane's cached entries.
  virtual Result<StepOutput> step(const StepInput& input) = 0;

  // Copies K/V rows as kvpool's plan says (in order). Must run before the next step that
  // reads the affected lanes.
  virtual void apply(const CompactionPlan& plan) = 0;
};

}  // namespace trimserve
