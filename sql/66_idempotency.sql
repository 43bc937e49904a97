-- Idempotent recording (SPEC §10.2): the Idempotency-Key header.
--
-- PostgREST passes request headers in the request.headers setting, names lower-cased; SQL callers
-- set the same setting. A key's scope is (recorder, the payload's organization, key); kinds
-- without an organization share one scope per recorder (NULLS NOT DISTINCT). The recorders' shared
-- path (70_recorders.sql) claims the key after steps 1–3 and before 4–5, so a stranger's replay
-- learns nothing:
--   first call          the key, a digest of the request and the row's id are kept; recorded as usual
--   same request        nothing written; 200 with the row as stored now, read as the caller
--   another request     PT422 (HTTP 422); nothing written
--   row gone            PT410 (HTTP 410); nothing written
-- Concurrent calls with one key wait on the key's unique index for the first to end: its commit
-- makes them replays, its rollback lets one of them record. That needs READ COMMITTED (under
-- REPEATABLE READ the waiter fails with 40001), so the public recorders pin it with
-- SET default_transaction_isolation, which PostgREST hoists into the request's BEGIN. A failed
-- request leaves no key: the key is written in its transaction. Keys older than
-- idempotency_window are forgotten (and purged by pilot_apply_retention).

create table pilot_private.idempotency_keys (
    recorder text not null,
    org_id uuid,
    key text not null,
    request_digest text not null,
    row_id text not null,
    created_at timestamptz not null default now(),
    constraint idempotency_keys_scope unique nulls not distinct (recorder, org_id, key)
);
comment on table pilot_private.idempotency_keys is
    'Idempotency keys of recorder calls (SPEC §10.2): scope, a digest of the request, the recorded row''s id. Readable by no API role.';
-- For pilot_apply_retention's purge. BRIN: the keys arrive in created_at order, and a BRIN entry is
-- not touched by most inserts (measured: a B-tree here cost each keyed recorder call 9 µs).
create index idempotency_keys_created_at on pilot_private.idempotency_keys using brin (created_at);
alter table pilot_private.idempotency_keys enable row level security;

-- The Idempotency-Key of this request, or null. 1–255 characters of [A-Za-z0-9._:-], optionally
-- in one pair of double quotes (the IETF draft's structured-field string); anything else is 22023
-- naming the header, never its value. Read in Rust (core/src/headers.rs), without SQL.
create function pilot_private.request_idempotency_key() returns text
    language c stable
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_request_idempotency_key';
comment on function pilot_private.request_idempotency_key() is
    'The request''s Idempotency-Key header (request.headers), quotes stripped; null when absent; 22023 naming the header when malformed.';

-- The digest of a request (the recorder's payload text and its other arguments): SHA-256, hex, made
-- in Rust (core/src/headers.rs).
create function pilot_private.request_digest(request text) returns text
    language c immutable strict parallel safe
    set search_path = pg_catalog, pg_temp
    as 'MODULE_PATHNAME', 'pilot_request_digest';
comment on function pilot_private.request_digest(text) is
    'SHA-256 of a recorder request''s text in lower-case hex: what the idempotency claim keeps to tell a replay from another request.';

-- Claim a key for a recorder call (the table is readable by no API role, hence SECURITY DEFINER).
-- Re-checks that the caller may write for the organization; the row id is made here — but for a
-- referral update (the referral's) and a cycle registration (the cycle's code), which the request,
-- and so its digest, names. Returns claimed (record with row_id), replay (return the row row_id)
-- or conflict (another request under this key). One record (OUT parameters), not a set: the
-- recorder assigns it as a simple expression, without a query around the call.
create function pilot_private.claim_idempotency_key(v_kind text, v_key text, v_org uuid, v_digest text, v_row_id text,
                                                    out outcome text, out row_id text)
    language plpgsql volatile
    security definer
    set search_path = pg_catalog, pg_temp
as $$
declare
    route record := pilot_private.kind_route(v_kind);
    fn text := case when route.payload then route.recorder end;
    held record;
begin
    if fn is null then
        raise exception using errcode = '22023', message = 'claim_idempotency_key: unknown kind';
    end if;
    -- the recorder's own check looked these up in this statement: asked from the cache first
    if not pilot_private.acting_is_backend()
       and not ((v_org is not null
                 and v_org = any (coalesce(pilot_private.cached_member_orgs(true), pilot_private.member_orgs(writers_only => true))))
                or coalesce(pilot_private.cached_is_admin(), pilot_private.is_admin())) then
        raise exception using errcode = '42501',
            message = fn || ': not allowed: the caller may not write for this organization';
    end if;
    insert into pilot_private.idempotency_keys as k (recorder, org_id, key, request_digest, row_id, created_at)
    values (fn, v_org, v_key, v_digest, coalesce(v_row_id, pg_catalog.gen_random_uuid()::text), pg_catalog.now())
        on conflict on constraint idempotency_keys_scope do update
       set request_digest = excluded.request_digest, row_id = excluded.row_id, created_at = excluded.created_at
     where k.created_at < pg_catalog.now() - pilot_private.setting('idempotency_window')::interval
    returning k.row_id into row_id;
    if row_id is not null then
        outcome := 'claimed';
        return;
    end if;
    select k.request_digest, k.row_id into held
      from pilot_private.idempotency_keys k
     where k.recorder = fn and k.org_id is not distinct from v_org and k.key = v_key;
    if held.request_digest is distinct from v_digest then
        outcome := 'conflict';
    else
        outcome := 'replay';
        row_id := held.row_id;
    end if;
end
$$;
comment on function pilot_private.claim_idempotency_key(text, text, uuid, text, text) is
    'Claims an idempotency key for a recorder call (SPEC §10.2): claimed with the new row''s id, replay with the recorded row''s id, or conflict. Re-checks the caller.';
