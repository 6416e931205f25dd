// GET /v1/sessions/{id}: what the daemon holds for one of the caller's sessions;
// DELETE /v1/sessions/{id}: forgets it (memory and its file). Both run on the engine loop's
// thread, the only one that touches sessions. Another tenant's session id is 404, exactly as
// an id that never existed.
#include <nlohmann/json.hpp>

#include "server/api/openai_routes.h"

namespace trimserve::api {

void OpenAiRoutes::session(const http::HttpRequest& request, const TenantPolicy& tenant,
                           std::shared_ptr<http::ResponseWriter> writer) {
  const std::string id = request.path.substr(std::string("/v1/sessions/").size());
  if (id.empty() || id.find('/') != std::string::npos) {
    return send_error(*writer, not_found_error("no route " + request.method + " " + request.path,
                                               "", "not_found"));
  }
  const SessionKey key{tenant.name, id};
  const bool remove = request.method == "DELETE";
  ctx_.loop->post([key, remove, writer](SessionManager& sessions) {
    const auto missing = [&] {
      send_error(*writer, not_found_error("session '" + key.session_id + "' not found",
                                          "session_id", "session_not_found"));
    };
    if (remove) {
      const Status s = sessions.remove(key);
      if (s.code() == ErrorCode::kNotFound) return missing();
      if (!s.ok()) return send_error(*writer, from_status(s, "session_id"));
      const nlohmann::json body = {{"id", key.session_id}, {"object", "session"}, {"deleted", true}};
      return writer->send(200, "application/json", body.dump());
    }
    auto info = sessions.store().info(key);
    if (!info.ok()) return missing();
    const nlohmann::json body = {{"id", key.session_id},
                                 {"object", "session"},
                                 {"tokens", info->num_tokens},
                                 {"running", info->running},
                                 {"idle_s", info->idle_s}};
    writer->send(200, "application/json", body.dump());
  });
}

}  // namespace trimserve::api
