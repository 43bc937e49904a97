-- The caller's admin flag and organizations, looked up once per statement (sql/20_identity.sql),
-- and the policies' membership test as the first organization, then the others (sql/50_policies.sql).
-- Attacks first: nobody but the owner can plant an answer; an answer never outlives its statement
-- or its caller (claims switched inside one statement, a membership removed between two statements
-- of one transaction); a member of several organizations reads and writes each of them through
-- either test, and never the organization between them.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql

select plan(24);

\set admin '11111111-1111-4111-8111-111111111111'
\set editor '22222222-2222-4222-8222-222222222222'
\set outsider '55555555-5555-4555-8555-555555555555'
\set two_orgs '66666666-6666-4666-8666-666666666666'
\set three_orgs '77777777-7777-4777-8777-777777777777'
\set two_writer '88888888-8888-4888-8888-888888888888'

-- rows of A, B and C (B's id lies between A's and C's), written by the owner
insert into public.organization_members (organization_id, user_id, role) values
    ('a0000000-0000-4000-8000-00000000000a', :'two_orgs', 'viewer'),
    ('c0000000-0000-4000-8000-00000000000c', :'two_orgs', 'viewer'),
    ('a0000000-0000-4000-8000-00000000000a', :'three_orgs', 'viewer'),
    ('b0000000-0000-4000-8000-00000000000b', :'three_orgs', 'viewer'),
    ('c0000000-0000-4000-8000-00000000000c', :'three_orgs', 'viewer'),
    ('a0000000-0000-4000-8000-00000000000a', :'two_writer', 'editor'),
    ('b0000000-0000-4000-8000-00000000000b', :'two_writer', 'viewer'),
    ('c0000000-0000-4000-8000-00000000000c', :'two_writer', 'editor');
insert into public.pilot_contact_attempt_events
    (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
select 'cycle-1', 'svc-shelter', o::uuid, repeat(pg_catalog.to_hex(g % 16), 64), 'phone', 'connected', '2026-06-01T10:00:00Z'
  from (values ('a0000000-0000-4000-8000-00000000000a', 3), ('b0000000-0000-4000-8000-00000000000b', 5),
               ('c0000000-0000-4000-8000-00000000000c', 7)) v(o, n),
       generate_series(1, n) g;

create function pg_temp.as_user(sub text) returns void language sql as $$
    select set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', sub)::text, false);
    select null::void;
$$;

-- 1–3. Nobody but the owner remembers an answer: a caller who could would make themselves an admin.
select pg_temp.as_user(:'editor');
set role authenticated;
select throws_ok($$select pilot_private.remember_is_admin('22222222-2222-4222-8222-222222222222', true)$$, '42501', null,
                 'authenticated cannot plant an admin answer');
select throws_ok($$select pilot_private.remember_member_orgs('22222222-2222-4222-8222-222222222222',
                     array['b0000000-0000-4000-8000-00000000000b']::uuid[], array['b0000000-0000-4000-8000-00000000000b']::uuid[])$$,
                 '42501', null, 'authenticated cannot plant organizations');
reset role;
set role service_role;
select throws_ok($$select pilot_private.remember_is_admin('22222222-2222-4222-8222-222222222222', true)$$, '42501', null,
                 'service_role cannot plant an answer either');
reset role;

-- 4–5. Claims switched inside one statement: each uid gets its own answer, in both orders.
set role authenticated;
select pg_temp.as_user(:'admin');
select is((select array[pilot_private.is_admin()::text,
                        set_config('request.jwt.claims', '{"role":"authenticated","sub":"22222222-2222-4222-8222-222222222222"}', false),
                        pilot_private.is_admin()::text]),
          array['true', '{"role":"authenticated","sub":"22222222-2222-4222-8222-222222222222"}', 'false'],
          'one statement, admin then editor: the editor is not an admin');
select is((select array[pilot_private.is_admin()::text,
                        set_config('request.jwt.claims', '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}', false),
                        pilot_private.is_admin()::text]),
          array['false', '{"role":"authenticated","sub":"11111111-1111-4111-8111-111111111111"}', 'true'],
          'one statement, editor then admin: the admin is an admin');
select pg_temp.as_user(:'editor');
select is((select array[pilot_private.member_orgs(false)::text,
                        set_config('request.jwt.claims', '{"role":"authenticated","sub":"44444444-4444-4444-8444-444444444444"}', false),
                        pilot_private.member_orgs(true)::text]),
          array['{a0000000-0000-4000-8000-00000000000a}', '{"role":"authenticated","sub":"44444444-4444-4444-8444-444444444444"}',
                '{b0000000-0000-4000-8000-00000000000b}'],
          'one statement, two members: each reads their own organizations');
reset role;

-- 7–11. An answer lasts one statement: a membership removed, then an admin added, between
-- statements of one transaction is seen by the next statement — by the helpers and the policies.
create function pg_temp.insert_a() returns void language sql as $$
    insert into public.pilot_contact_attempt_events
        (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
    values ('cycle-1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', repeat('ab', 32), 'phone', 'connected',
            '2026-06-01T10:00:00Z');
$$;
begin;
select pg_temp.as_user(:'editor');
set local role authenticated;
select is(pilot_private.member_orgs(true), array['a0000000-0000-4000-8000-00000000000a']::uuid[], 'the editor writes for A');
reset role;
delete from public.organization_members where user_id = :'editor';
set local role authenticated;
select is(pilot_private.member_orgs(true), '{}'::uuid[], 'the next statement sees the membership gone');
select throws_ok($$select pg_temp.insert_a()$$, '42501', null, 'and so does the write policy');
reset role;
insert into public.app_admins (user_id) values (:'editor');
set local role authenticated;
select is(pilot_private.is_admin(), true, 'the next statement sees the new admin');
select lives_ok($$select pg_temp.insert_a()$$, 'who writes for every organization');
rollback;

-- 11–14. The read policy: a member of A and C reads A's and C's rows (the first organization and
-- the others), never B's, which lie between them; an outsider reads nothing; an admin reads every row.
select pg_temp.as_user(:'two_orgs');
set role authenticated;
select results_eq($$select recorded_by_org_id::text, count(*) from public.pilot_contact_attempt_events group by 1 order by 1$$,
                  $$values ('a0000000-0000-4000-8000-00000000000a', 3::bigint), ('c0000000-0000-4000-8000-00000000000c', 7::bigint)$$,
                  'a member of A and C reads A and C, not B between them');
select is((select count(*) from public.pilot_contact_attempt_events
            where recorded_by_org_id = 'b0000000-0000-4000-8000-00000000000b'), 0::bigint,
          'asking for B by name finds nothing either');
select pg_temp.as_user(:'outsider');
select is((select count(*) from public.pilot_contact_attempt_events), 0::bigint, 'a signed-in outsider reads nothing');
select pg_temp.as_user(:'admin');
select is((select count(*) from public.pilot_contact_attempt_events), 15::bigint, 'an admin reads every row');
reset role;

-- 19–23. A member of three organizations reads all three; a writer of A and C (a viewer of B)
-- writes for A and for C through the insert and update policies, never for B.
select pg_temp.as_user(:'three_orgs');
set role authenticated;
select results_eq($$select recorded_by_org_id::text, count(*) from public.pilot_contact_attempt_events group by 1 order by 1$$,
                  $$values ('a0000000-0000-4000-8000-00000000000a', 3::bigint), ('b0000000-0000-4000-8000-00000000000b', 5::bigint),
                           ('c0000000-0000-4000-8000-00000000000c', 7::bigint)$$,
                  'a member of three organizations reads all three');
select pg_temp.as_user(:'two_writer');
select lives_ok($$insert into public.pilot_contact_attempt_events
                    (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
                  values ('cycle-1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', repeat('e', 64), 'phone', 'connected', '2026-06-01T10:00:00Z'),
                         ('cycle-1', 'svc-shelter', 'c0000000-0000-4000-8000-00000000000c', repeat('e', 64), 'phone', 'connected', '2026-06-01T10:00:00Z')$$,
                'a writer of A and C inserts for both in one statement');
select throws_ok($$insert into public.pilot_contact_attempt_events
                    (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
                  values ('cycle-1', 'svc-shelter', 'b0000000-0000-4000-8000-00000000000b', repeat('e', 64), 'phone', 'connected', '2026-06-01T10:00:00Z')$$,
                 '42501', null, 'never for B, where they are a viewer');
with u as (update public.pilot_contact_attempt_events set attempt_channel = 'email'
            where pilot_cycle_id = 'cycle-1' returning recorded_by_org_id)
select is((select count(*) from u), 12::bigint, 'an update reaches the rows of A and C (3 + 1 and 7 + 1)');
reset role;
select is((select count(*) from public.pilot_contact_attempt_events
            where recorded_by_org_id = 'b0000000-0000-4000-8000-00000000000b' and attempt_channel = 'email'), 0::bigint,
          'and none of B''s');

-- 15–16. The Idempotency-Key header is read in Rust: a setting that is not JSON is 22023 naming
-- the setting, never its text; a malformed key names the header, never the key.
select pg_temp.as_user(:'editor');
set role authenticated;
select set_config('request.headers', '{"idempotency-key": "jane doe 555-1234', false);
select throws_ok($$select pilot_private.request_idempotency_key()$$, '22023',
                 'request.headers: must be a JSON object of the request''s headers', 'headers that are not JSON: 22023 naming the setting');
select set_config('request.headers', '{"idempotency-key": "jane doe 555-1234"}', false);
select throws_ok($$select pilot_private.request_idempotency_key()$$, '22023',
                 'Idempotency-Key header: must be 1 to 255 characters of A-Z, a-z, 0-9, ".", "_", ":", "-", optionally in double quotes',
                 'a malformed key: 22023 naming the header');
select set_config('request.headers', '{"idempotency-key": "\"k-1\""}', false);
select is(pilot_private.request_idempotency_key(), 'k-1', 'a quoted key, quotes stripped');
select set_config('request.headers', '', false);
reset role;

-- 24. The request's digest (Rust) is PostgreSQL's own SHA-256 of the same text, for ASCII and
-- multi-byte text alike (the idempotency claim compares it with the stored one).
select is((select count(*) from (values (''), ('{"a": 1}|'), ('{"label": "Zoë, café ☕"}|a0000000-0000-4000-8000-00000000000a')) r(t)
            where pilot_private.request_digest(r.t) = pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(r.t, 'UTF8')), 'hex')),
          3::bigint, 'request_digest is the SHA-256 hex of the text');

select * from finish();
