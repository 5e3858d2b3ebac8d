/*
 * promote_job.c - what a promotion job is (see promote_job.h): its target
 * text "<channel_id> shards=<N>", written and parsed in one canonical form,
 * and the index schema with N primary shards. Shared by the promotion
 * policy (promote.c) and the reindex engine that runs the job.
 */
#include "promote_job.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

sc_status sc_promote_target(uint64_t channel_id, int shards, char *out, size_t len)
{
    int w;
    if (channel_id == 0 || channel_id > INT64_MAX || shards < 1 || shards > SC_PROMOTE_SHARDS_MAX ||
        out == NULL)
        return SC_EINVAL;
    w = snprintf(out, len, "%" PRIu64 " shards=%d", channel_id, shards);
    return w < 0 || (size_t)w >= len ? SC_EINVAL : SC_OK;
}

sc_status sc_promote_target_parse(const char *target, uint64_t *channel_id, int *shards)
{
    char id[32], back[64];
    const char *sp;
    uint64_t s;
    size_t n;
    if (target == NULL || (sp = strchr(target, ' ')) == NULL)
        return SC_EINVAL;
    n = (size_t)(sp - target);
    if (n == 0 || n >= sizeof id || strncmp(sp, " shards=", 8) != 0)
        return SC_EINVAL;
    memcpy(id, target, n);
    id[n] = '\0';
    if (sc_parse_u64(id, channel_id) != SC_OK || *channel_id == 0 || *channel_id > INT64_MAX ||
        sc_parse_u64(sp + 8, &s) != SC_OK || s < 1 || s > SC_PROMOTE_SHARDS_MAX)
        return SC_EINVAL;
    *shards = (int)s;
    /* exactly the canonical form (no leading zeros, no '+', nothing after) */
    if (sc_promote_target(*channel_id, *shards, back, sizeof back) != SC_OK ||
        strcmp(back, target) != 0)
        return SC_EINVAL;
    return SC_OK;
}

char *sc_promote_schema(const char *schema_json, int shards)
{
    cJSON *root = cJSON_Parse(schema_json);
    cJSON *settings, *index;
    char *out = NULL;
    if (!cJSON_IsObject(root) || shards < 1 || shards > SC_PROMOTE_SHARDS_MAX)
        goto out;
    settings = cJSON_GetObjectItemCaseSensitive(root, "settings");
    if (settings == NULL)
        settings = cJSON_AddObjectToObject(root, "settings");
    if (!cJSON_IsObject(settings))
        goto out;
    /* settings.index.number_of_shards, or the flat "number_of_shards" form */
    cJSON_DeleteItemFromObjectCaseSensitive(settings, "number_of_shards");
    cJSON_DeleteItemFromObjectCaseSensitive(settings, "index.number_of_shards");
    index = cJSON_GetObjectItemCaseSensitive(settings, "index");
    if (index == NULL)
        index = cJSON_AddObjectToObject(settings, "index");
    if (!cJSON_IsObject(index))
        goto out;
    cJSON_DeleteItemFromObjectCaseSensitive(index, "number_of_shards");
    if (cJSON_AddNumberToObject(index, "number_of_shards", shards) == NULL)
        goto out;
    out = cJSON_PrintUnformatted(root);
out:
    cJSON_Delete(root);
    return out;
}
