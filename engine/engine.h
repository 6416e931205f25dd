// Engine: runs model steps over KV storage it owns; kvpool owns the metadata (DESIGN.md §4).
//
// Threading: an Engine is owned and called by one thread (the engine loop, or a CLI command).
// K/V storage: num_pages pages of B entries; a page belongs to one lane (sequence, layer,
// kv-head), so each page stores B rows of K[D] and B rows of V[D].
#pragma once

#include <cstdint>
#include <span>

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

  // Session persistence (kvpool/session_dir.h): K/V rows leave and re-enter storage through
  // these, so a saved session restores bit-exactly instead of being recomputed.
  // Rows are [n, D] row-major f32 whatever the storage dtype (D = head_dim); an engine storing
  // narrower types converts, so a file written by one engine loads into another with the same
  // model. Row i of the arrays is lane entry begin + i (page lane.pages[(begin + i) / B]).
  // Preconditions (TS_CHECK; kvpool sizes these, they are never user input): begin >= 0,
  // begin + n <= lane.num_pages * B (capacity, not len: write_entries fills reserved room),
  // spans of exactly n * D floats, page ids inside the storage. Like step(), they see storage
  // as of the last apply(): apply a pending plan for the lane first.

  // Copies the K and V rows of lane entries [begin, begin + n) into k_out and v_out.
  virtual void read_entries(const LaneView& lane, int64_t begin, int64_t n, std::span<float> k_out,
                            std::span<float> v_out) const = 0;

  // Writes n = k.size() / D rows (k and v the same size) to lane entries [begin, begin + n);
  // the caller records their pos/logβ in the KvPool (restore_sequence for a whole saved
  // sequence, or append like a step's new entries).
  virtual void write_entries(const LaneView& lane, int64_t begin, std::span<const float> k,
                             std::span<const float> v) = 0;
};

}  // namespace trimserve
