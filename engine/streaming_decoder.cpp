#include "engine/streaming_decoder.h"

#include "engine/utf8.h"

namespace trimserve {

std::string StreamingDecoder::push(int32_t id) {
  if (!tokenizer_->append_bytes(id, skip_special_, pending_)) return {};
  std::string out;
  // The lossy conversion is a left-to-right scan whose decision for each byte depends only
  // on bytes up to the end of its own character, so converting all but a still-completable
  // tail now gives the same text as converting everything at the end.
  const size_t consumed = utf8_append_lossy(pending_, out, /*hold_incomplete_tail=*/true);
  pending_.erase(0, consumed);
  return out;
}

std::string StreamingDecoder::flush() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace trimserve
