-- SPEC §4's "admin or member" for reads, as one index condition (50_policies.sql, 20_identity.sql's
-- read_orgs): what a member, an admin who is also a member, an admin and a caller without a
-- membership read from every table with an organization; that a member's read is an index
-- condition and no filter; an admin's write of an organization without rows; and read_orgs called
-- directly, with a table it does not serve.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/pilot_rows.sql

-- Rows of organization B and of an organization the host does not list (a backend job may write
-- one: the host-row check is for API roles), beside the fixture's rows of A.
insert into public.pilot_contact_attempt_events
    (id, pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
values
    ('c0000000-0000-4000-8000-0000000000b1', 'cycle-1', 'svc-shelter', 'b0000000-0000-4000-8000-00000000000b',
     repeat('a1', 32), 'phone', 'connected', '2026-06-02T10:00:00Z'),
    ('c0000000-0000-4000-8000-0000000000f1', 'cycle-1', 'svc-shelter', 'f0000000-0000-4000-8000-00000000000f',
     repeat('a2', 32), 'phone', 'connected', '2026-06-02T11:00:00Z');
insert into public.pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, metric_value)
values ('cycle-1', 'b0000000-0000-4000-8000-00000000000b', 'M1', 0.25),
       ('cycle-1', 'f0000000-0000-4000-8000-00000000000f', 'M1', 0.75);
-- 20,000 attempts, half in cycle-2, each half split between A and B, vacuumed and analyzed:
-- what a read policy meets in use (on a table of a few rows, or a cycle of a few hundred, the
-- planner rightly prefers the cycle-first index and tests the organization as a filter).
insert into public.pilot_contact_attempt_events
    (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel, attempt_outcome, attempted_at)
select case when i % 2 = 0 then 'cycle-2' else 'cycle-other' end, 'svc-shelter',
       case when i % 4 < 2 then 'a0000000-0000-4000-8000-00000000000a'::uuid else 'b0000000-0000-4000-8000-00000000000b'::uuid end,
       encode(sha256(i::text::bytea), 'hex'), 'phone', 'connected', '2026-06-01T10:00:00Z'::timestamptz + i * interval '1 minute'
  from generate_series(1, 20000) i;
vacuum analyze public.pilot_contact_attempt_events;
-- The admin (1111…) is also a viewer of A; 5555… belongs to no organization.
insert into public.organization_members (organization_id, user_id, role)
values ('a0000000-0000-4000-8000-00000000000a', '11111111-1111-4111-8111-111111111111', 'viewer');

-- Every table whose read policy names an organization, and how many rows each has per
-- organization, as the owner sees them.
create temp table org_tables as
select distinct k.table_name, k.org_column from pilot_private.kinds() k
 where k.policy_shape in ('events', 'snapshots') order by 1;
create temp table owner_counts (table_name text, org uuid, n bigint);
do $$
declare t record;
begin
    for t in select * from org_tables loop
        execute format('insert into owner_counts select %L, %I, count(*) from public.%I group by 2', t.table_name, t.org_column, t.table_name);
    end loop;
end $$;
grant select on org_tables, owner_counts to authenticated;

-- What the caller reads from each table, per organization, as "table:org:n" sorted.
create function pg_temp.seen() returns text[] language plpgsql as $$
declare t record; r text[] := '{}'; part text[];
begin
    for t in select * from org_tables loop
        execute format('select coalesce(array_agg(%L || '':'' || o || '':'' || n order by o), ''{}'') from (select %I o, count(*) n from public.%I group by 1) x',
                       t.table_name, t.org_column, t.table_name) into part;
        r := r || part;
    end loop;
    return r;
end $$;
create function pg_temp.owner_seen(orgs uuid[]) returns text[] language sql as $$
    select coalesce(array_agg(table_name || ':' || org || ':' || n order by table_name, org), '{}')
      from owner_counts where orgs is null or org = any (orgs) $$;
create function pg_temp.act(sub text) returns void language sql as $$
    select set_config('role', 'authenticated', true),
           set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'sub', sub)::text, true) $$;

select plan(12);

select is((select count(*) from org_tables), 8::bigint, 'eight tables read by organization (seven event tables, the snapshots)');

begin;
select pg_temp.act('22222222-2222-4222-8222-222222222222');
select is(pg_temp.seen(), pg_temp.owner_seen(array['a0000000-0000-4000-8000-00000000000a']::uuid[]),
          'a member reads exactly their organization''s rows of every table');
rollback;

begin;
select pg_temp.act('44444444-4444-4444-8444-444444444444');
select is(pg_temp.seen(), pg_temp.owner_seen(array['b0000000-0000-4000-8000-00000000000b']::uuid[]),
          'the owner of B reads exactly B''s rows');
rollback;

begin;
select pg_temp.act('11111111-1111-4111-8111-111111111111');
select is(pg_temp.seen(), pg_temp.owner_seen(null),
          'an admin who is also a member of A reads every row of every table, an organization the host does not list included');
rollback;

begin;
select pg_temp.act('55555555-5555-4555-8555-555555555555');
select is(pg_temp.seen(), '{}'::text[], 'a caller without a membership reads nothing');
rollback;

-- The member's read of that cycle is an index condition of an index-only scan, with no filter:
-- the policy's test is made by the index, not on every row.
begin;
select pg_temp.act('22222222-2222-4222-8222-222222222222');
create function pg_temp.plan_of(q text) returns jsonb language plpgsql as $$
declare p jsonb; begin execute 'explain (format json) ' || q into p; return p; end $$;
select is((select array[n ->> 'Node Type', (n ? 'Filter')::text, ((n ->> 'Index Cond') like '%recorded_by_org_id = ANY%')::text]
             from jsonb_path_query(pg_temp.plan_of($q$select count(*), max(attempted_at) from public.pilot_contact_attempt_events where pilot_cycle_id = 'cycle-2'$q$),
                                   'strict $.** ? (exists (@."Index Name"))') n),
          array['Index Only Scan', 'false', 'true'],
          'a member reading a cycle: an index-only scan, the policy an index condition, no filter');
rollback;

-- An admin writes the first row of an organization that has none yet, and gets it back (INSERT …
-- RETURNING applies the read policy to the new row: the organization comes from public.organizations).
begin;
select pg_temp.act('11111111-1111-4111-8111-111111111111');
select is((select count(*) from public.pilot_contact_attempt_events where recorded_by_org_id = 'c0000000-0000-4000-8000-00000000000c'),
          0::bigint, 'organization C has no contact attempt');
select is((select (pilot_record_contact_attempt(('{"pilot_cycle_id": "cycle-1", "service_id": "svc-shelter",
              "recorded_by_org_id": "c0000000-0000-4000-8000-00000000000c", "entity_key_hash": "' || repeat('a3', 32) || '",
              "attempt_channel": "phone", "attempt_outcome": "connected", "attempted_at": "2026-06-03T10:00:00Z"}')::jsonb) ->> 'recorded_by_org_id')),
          'c0000000-0000-4000-8000-00000000000c', 'an admin''s recorder call for C returns the stored row');
rollback;

-- read_orgs called directly: a member's own organizations; a table it does not serve is refused
-- without naming it.
begin;
select pg_temp.act('33333333-3333-4333-8333-333333333333');
select is(pilot_private.read_orgs('pilot_contact_attempt_events'), array['a0000000-0000-4000-8000-00000000000a']::uuid[],
          'read_orgs for a viewer of A: A');
select throws_ok($$select pilot_private.read_orgs('organization_members')$$, '22023',
                 'read_orgs: not a pilot table with an organization column', 'read_orgs refuses a host table, naming none');
select throws_ok($$select pilot_private.read_orgs('pilot_integration_feasibility_decisions')$$, '22023',
                 'read_orgs: not a pilot table with an organization column', 'and a pilot table without an organization');
rollback;

begin;
select pg_temp.act('11111111-1111-4111-8111-111111111111');
select is((select array_agg(o order by o) from unnest(pilot_private.read_orgs('pilot_contact_attempt_events')) o),
          array['a0000000-0000-4000-8000-00000000000a', 'b0000000-0000-4000-8000-00000000000b',
                'c0000000-0000-4000-8000-00000000000c', 'f0000000-0000-4000-8000-00000000000f']::uuid[],
          'read_orgs for an admin: every organization of the host and of the table''s rows');
rollback;

select * from finish();
