"""The Elastic Common Schema fields eventlog's ECS output uses, with their
types, vendored from the ECS 8.17 field reference
(https://www.elastic.co/guide/en/ecs/8.17/ecs-field-reference.html: base,
ecs, event, log, user, source, user_agent and http field sets). The ECS
output is tested against this table, not against eventlog's own code."""

from __future__ import annotations

ECS_VERSION = "8.17.0"

# field -> ECS type
FIELDS = {
    "@timestamp": "date",
    "message": "match_only_text",
    "labels": "object",
    "ecs.version": "keyword",
    "log.level": "keyword",
    "event.action": "keyword",
    "event.id": "keyword",
    "event.kind": "keyword",
    "event.reason": "keyword",
    "event.sequence": "long",
    "event.hash": "keyword",
    "user.name": "keyword",
    "user.id": "keyword",
    "source.ip": "ip",
    "user_agent.original": "keyword",
    "http.request.id": "keyword",
}

# Allowed values of event.kind (ECS categorization fields).
EVENT_KINDS = {
    "alert",
    "asset",
    "enrichment",
    "event",
    "metric",
    "state",
    "pipeline_error",
    "signal",
}
