#include "server/cli/kv_dump.h"

namespace trimserve::cli {

nlohmann::json dump_kv(const KvPool& pool, SeqId seq, const ModelConfig& model) {
  nlohmann::json lanes = nlohmann::json::array();
  nlohmann::json log_beta = nlohmann::json::array();
  for (int64_t l = 0; l < model.num_hidden_layers; ++l) {
    for (int64_t h = 0; h < model.num_key_value_heads; ++h) {
      lanes.push_back(pool.lane_positions(seq, l, h));
      log_beta.push_back(pool.lane_log_beta(seq, l, h));
    }
  }
  const SequenceKvStats st = pool.sequence_stats(seq);
  return {{"lanes", lanes},
          {"log_beta", log_beta},
          {"retained", st.retained},
          {"offered", st.offered},
          {"num_processed", st.num_processed}};
}

}  // namespace trimserve::cli
