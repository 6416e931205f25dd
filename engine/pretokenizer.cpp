#include "engine/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <utility>

#include "common/check.h"

namespace trimserve {
namespace {

// Oniguruma's Unicode `\s` (White_Space) = PCRE2 UCP `\s` (Z + \t\n\v\f\r) + U+0085.
constexpr std::string_view kSpaceClassBody = R"(\s\x{85})";
// Oniguruma's `\h` is a hex digit, not horizontal space.
constexpr std::string_view kHexClassBody = "0-9a-fA-F";
// Oniguruma's Unicode `\w` (PCRE2 10.42's UCP `\w` is L, N and '_' only).
constexpr std::string_view kWordClassBody = R"(\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\x{200C}\x{200D})";

std::string pcre2_error_text(int code) {
  PCRE2_UCHAR buf[256];
  const int n = pcre2_get_error_message(code, buf, sizeof(buf));
  return n < 0 ? "error " + std::to_string(code) : std::string(reinterpret_cast<char*>(buf));
}

}  // namespace

Result<std::string> onig_to_pcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      std::string_view body;
      bool negated = false;
      switch (e) {
        case 's': body = kSpaceClassBody; break;
        case 'S': body = kSpaceClassBody; negated = true; break;
        case 'h': body = kHexClassBody; break;
        case 'H': body = kHexClassBody; negated = true; break;
        case 'w': body = kWordClassBody; break;
        case 'W': body = kWordClassBody; negated = true; break;
        default:
          // Everything else (\p{..}, \x{..}, \r, \n, \d, escaped punctuation) means the same
          // in both engines; copy the escape verbatim.
          out.push_back('\\');
          out.push_back(e);
          continue;
      }
      if (in_class && negated) {
        return unimplemented(std::string("regex: \\") + e +
                             " inside a character class is not supported (at offset " +
                             std::to_string(i - 1) + ")");
      }
      if (in_class) {
        out.append(body);
      } else {
        out.append(negated ? "[^" : "[").append(body).append("]");
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out.push_back(c);
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out.push_back(pattern[++i]);
      // A ']' right after '[' or '[^' is a literal in both engines.
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out.push_back(pattern[++i]);
      continue;
    }
    if (in_class && c == '[') {
      if (i + 1 < pattern.size() && pattern[i + 1] == ':') {  // POSIX class [:alpha:]
        const size_t close = pattern.find(":]", i + 2);
        if (close == std::string_view::npos) return invalid_argument("regex: unterminated [: class");
        out.append(pattern.substr(i, close + 2 - i));
        i = close + 1;
        continue;
      }
      return unimplemented("regex: nested character classes are not supported (at offset " +
                           std::to_string(i) + ")");
    }
    if (in_class && c == ']') in_class = false;
    out.push_back(c);
  }
  return out;
}

struct RegexSplit::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;  // pcre2_jit_compile succeeded
  ~Compiled() { pcre2_code_free(code); }
};

RegexSplit::~RegexSplit() = default;

Result<std::unique_ptr<RegexSplit>> RegexSplit::create(std::string_view onig_pattern,
                                                       SplitBehavior behavior, bool invert) {
  Result<std::string> translated = onig_to_pcre2(onig_pattern);
  if (!translated.ok()) return translated.status();
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated->data()),
                                   translated->size(), PCRE2_UTF | PCRE2_UCP, &error_code,
                                   &error_offset, nullptr);
  if (code == nullptr) {
    return invalid_argument("regex " + std::string(onig_pattern) + " does not compile: " +
                            pcre2_error_text(error_code) + " at offset " +
                            std::to_string(error_offset) + " of the PCRE2 form " + *translated);
  }
  // JIT is an optimization only: without it (unsupported CPU, SELinux) the interpreter runs.
  const bool jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  std::unique_ptr<RegexSplit> split(new RegexSplit());
  split->compiled_ = std::make_unique<Compiled>();
  split->compiled_->code = code;
  split->compiled_->jit = jit;
  split->behavior_ = behavior;
  split->invert_ = invert;
  return split;
}

template <class OnMatch>
void RegexSplit::for_each_match(std::string_view text, OnMatch&& on_match) const {
  pcre2_code* code = compiled_->code;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
  TS_CHECK(md != nullptr);
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
  pcre2_match_context* big_ctx = nullptr;
  pcre2_jit_stack* big_stack = nullptr;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos <= text.size()) {
    // pcre2_jit_match skips pcre2_match's per-call checks; worth it at one call per word.
    int rc = compiled_->jit && big_ctx == nullptr
                 ? pcre2_jit_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr)
                 : pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, big_ctx);
    if (rc < 0 && rc != PCRE2_ERROR_NOMATCH && big_ctx == nullptr) {
      // Out of the default 32 KiB JIT stack or the interpreter's limits on some pathological
      // input: retry with generous limits. Allocated per call because a JIT stack may not be
      // shared between threads.
      big_ctx = pcre2_match_context_create(nullptr);
      TS_CHECK(big_ctx != nullptr);
      big_stack = pcre2_jit_stack_create(32 * 1024, 256 * 1024 * 1024, nullptr);
      if (big_stack != nullptr) pcre2_jit_stack_assign(big_ctx, nullptr, big_stack);
      pcre2_set_match_limit(big_ctx, UINT32_MAX);
      pcre2_set_depth_limit(big_ctx, UINT32_MAX);
      pcre2_set_heap_limit(big_ctx, UINT32_MAX);
      rc = pcre2_match(code, subject, text.size(), pos, PCRE2_NO_UTF_CHECK, md, big_ctx);
    }
    // Still failing (only conceivable for gigantic inputs): the rest of the text stays one
    // unsplit piece. Wrong splits only change token boundaries, never lose text.
    if (rc < 0) break;
    const size_t start = ov[0];
    const size_t end = ov[1];
    if (end < start) break;  // \K games; not used by tokenizer patterns
    on_match(start, end);
    if (end > start) {
      pos = end;
    } else {
      // Empty match: move on by one character, as Oniguruma's search loop does.
      if (end >= text.size()) break;
      pos = end + 1;
      while (pos < text.size() && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) ++pos;
    }
  }
  if (big_stack != nullptr) pcre2_jit_stack_free(big_stack);
  if (big_ctx != nullptr) pcre2_match_context_free(big_ctx);
  pcre2_match_data_free(md);
}

void RegexSplit::split(std::string_view text,
                       const std::function<void(std::string_view)>& emit) const {
  // The text is a sequence of segments: matches and the gaps between them; matches are the
  // delimiters unless `invert` (HF Pattern::find_matches). SplitDelimiterBehavior then
  // merges neighbouring segments; HF does it with folds over the whole list, here a state
  // machine holding at most one pending segment gives the same pieces while streaming.
  struct Segment {
    size_t start, end;
    bool is_match;
  };
  Segment pending{};
  bool has_pending = false;
  bool previous_match = false;  // is_match of the previous segment (HF's fold state)
  auto flush = [&] {
    if (has_pending && pending.end > pending.start) {
      emit(text.substr(pending.start, pending.end - pending.start));
    }
    has_pending = false;
  };
  // Emits what is pending and makes `seg` the new pending piece.
  auto restart = [&](const Segment& seg) {
    flush();
    pending = seg;
    has_pending = true;
  };
  auto on_segment = [&](Segment seg) {
    switch (behavior_) {
      case SplitBehavior::kRemoved:
        if (!seg.is_match && seg.end > seg.start) emit(text.substr(seg.start, seg.end - seg.start));
        return;
      case SplitBehavior::kIsolated:
        if (seg.end > seg.start) emit(text.substr(seg.start, seg.end - seg.start));
        return;
      case SplitBehavior::kMergedWithPrevious:
        // A delimiter joins the piece before it unless that piece was a delimiter too.
        if (seg.is_match && !previous_match && has_pending) {
          pending.end = seg.end;
        } else {
          restart(seg);
        }
        break;
      case SplitBehavior::kMergedWithNext:
        // A delimiter joins the piece after it unless that piece is a delimiter too.
        if (has_pending && pending.is_match && !seg.is_match) {
          pending.end = seg.end;
          flush();
        } else {
          restart(seg);
        }
        break;
      case SplitBehavior::kContiguous:
        if (has_pending && seg.is_match == previous_match) {
          pending.end = seg.end;
        } else {
          restart(seg);
        }
        break;
    }
    previous_match = seg.is_match;
  };
  size_t prev = 0;
  for_each_match(text, [&](size_t start, size_t end) {
    if (prev < start) on_segment({prev, start, invert_});
    on_segment({start, end, !invert_});
    prev = end;
  });
  if (prev < text.size()) on_segment({prev, text.size(), invert_});
  flush();
}

void PreTokenizer::run(size_t step, std::string_view piece,
                       const std::function<void(std::string_view)>& emit) const {
  if (step < splits_.size()) {
    splits_[step]->split(piece, [&](std::string_view p) { run(step + 1, p, emit); });
    return;
  }
  std::string prefixed;
  if (add_prefix_space_ && piece.front() != ' ') {
    prefixed.reserve(piece.size() + 1);
    prefixed.append(" ").append(piece);
    piece = prefixed;
  }
  if (byte_level_split_ != nullptr) {
    byte_level_split_->split(piece, emit);
  } else {
    emit(piece);
  }
}

void PreTokenizer::pre_tokenize(std::string_view text,
                                const std::function<void(std::string_view)>& emit) const {
  if (!text.empty()) run(0, text, emit);
}

}  // namespace trimserve
