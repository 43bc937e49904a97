-- SPEC §3: every CHECK refuses a violating row; host rows are checked on write (23503 for a
-- writer, 42501 from RLS first for an outsider); a terminal referral does not move (PT409);
-- hashes are stored as keyed pseudonyms (SPEC §14). Run on the Supabase-shaped host fixture.
\set ON_ERROR_STOP 1
\set QUIET 1
set client_min_messages = warning;
\i tests/fixtures/host_baseline.sql
\i tests/fixtures/snapshot.sql
create extension pgtap;
create extension pilot_guardrails;
\i tests/fixtures/cycles.sql
\i tests/fixtures/pilot_rows.sql

select plan(80);

-- The code CHECK (pilot_private.is_code, in Rust) is SPEC §3's rule: the regular expression and the
-- length, on edge cases and 3,000 random strings over letters, digits, the four marks and others.
select setseed(0.25);
select is((select count(*) from (
             select v, m from (values ('svc-1', 100), ('', 100), ('_a', 100), ('a b', 100), ('caf' || chr(233), 100),
                                      (E'a\n', 100), ('a', 0), ('a', -1), (repeat('x', 100), 100), (repeat('x', 101), 100)) e(v, m)
             union all
             select string_agg(substr('aZ09_.:- ' || chr(233) || E'\n', 1 + floor(random() * 13)::int, 1), ''), floor(random() * 6)::int
               from generate_series(1, 3000) g, generate_series(1, 1 + g % 6) c group by g) x
            where pilot_private.is_code(x.v, x.m) is distinct from
                  (coalesce(x.v, '') ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]*$' and char_length(coalesce(x.v, '')) <= x.m)),
          0::bigint, 'is_code agrees with ^[A-Za-z0-9][A-Za-z0-9_.:-]*$ and the length on 3,010 strings');
select is(pilot_private.is_code(null), null, 'is_code of null is null (a nullable code column accepts null)');

-- A valid row of each table, as a template: each case below changes one thing.
create temp table v as select
    $$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
        attempt_channel, attempt_outcome, attempted_at, resolved_at, outcome_notes_code)
      values (%s, %s, 'a0000000-0000-4000-8000-00000000000a', %s, %s, %s, '2026-06-01T10:00:00Z', %s, %s)$$ as contact;

-- contact attempts (§3.1)
select throws_ok(format((select contact from v), quote_literal('a b'), '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: pilot_cycle_id must be a code');
select throws_ok(format((select contact from v), 'repeat(''x'', 101)', '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: pilot_cycle_id at most 100 characters');
select lives_ok(format((select contact from v), 'repeat(''x'', 100)', '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null'),
                'contact: a 100-character pilot_cycle_id is fine');
select throws_ok(format((select contact from v), '''c1''', '''svc one''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: service_id must be a code');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''g'', 64)', '''phone''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: entity_key_hash must be SHA-256 hex');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''a'', 63)', '''phone''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: entity_key_hash must be 64 characters');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''a'', 64)', '''fax''', '''connected''', 'null', 'null'),
                 '23514', null, 'contact: attempt_channel enum');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''reached''', 'null', 'null'),
                 '23514', null, 'contact: attempt_outcome enum');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''connected''', '''2026-06-01T09:59:59Z''', 'null'),
                 '23514', null, 'contact: resolved_at not before attempted_at');
select throws_ok(format((select contact from v), '''c1''', '''svc-1''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', '''busy'''),
                 '23514', null, 'contact: outcome_notes_code enum');
select throws_ok($$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, attempt_channel,
                     attempt_outcome) values ('c1', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', 'phone', 'connected')$$,
                 '23502', null, 'contact: attempted_at is required');
select lives_ok(format((select contact from v), '''HASH''', '''svc-1''', 'repeat(''AB'', 32)', '''phone''', '''connected''', 'null', 'null'),
                'contact: an upper-case hash is accepted');
select is((select entity_key_hash from pilot_contact_attempt_events where pilot_cycle_id = 'HASH'),
          (select pilot_private.hmac_k1(k.key, repeat('ab', 32)) from pilot_private.pseudonym_keys k order by created_at, id limit 1),
          'contact: and stored keyed: k1: and the HMAC-SHA-256 of the lower-case hash under the database''s key');
select matches((select entity_key_hash from pilot_contact_attempt_events where pilot_cycle_id = 'HASH'), '^k1:[0-9a-f]{64}$',
               'contact: the keyed form');
update pilot_contact_attempt_events set entity_key_hash = repeat('CD', 32) where pilot_cycle_id = 'HASH';
select is((select entity_key_hash from pilot_contact_attempt_events where pilot_cycle_id = 'HASH'),
          (select pilot_private.hmac_k1(k.key, repeat('cd', 32)) from pilot_private.pseudonym_keys k order by created_at, id limit 1),
          'contact: updated hashes are keyed too');
select throws_ok($$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel,
                     attempt_outcome, attempted_at) values ('c1', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', 'k1:' || repeat('0', 63),
                     'phone', 'connected', now())$$,
                 '23514', null, 'contact: a malformed k1: value is refused by the CHECK');
-- the CHECK and the keying trigger spell "64 hex digits" as a length and a repetition: the edges
select throws_ok(format($$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash,
                     attempt_channel, attempt_outcome, attempted_at) values ('c1', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', %L,
                     'phone', 'connected', now())$$, h), '23514', null, 'contact: refused by the CHECK: ' || what)
  from (values ('k1:' || repeat('0', 65), 'k1: and 65 digits'), ('k1:' || repeat('A', 64), 'k1: and upper-case digits'),
               ('k1:' || repeat('0', 63) || 'g', 'k1: and a letter past f'), ('k1:' || repeat('0', 63) || E'\n', 'k1:, 63 digits and a newline'),
               ('K1:' || repeat('0', 64), 'K1:'), (repeat('a', 63), 'a plain hash of 63 digits (not keyed)'),
               (repeat('a', 65), 'a plain hash of 65 digits (not keyed)'), (repeat('a', 63) || chr(233), '63 digits and a letter outside ASCII (not keyed)'),
               (repeat('a', 63) || E'\n', '63 digits and a newline (not keyed)')) x(h, what);
select lives_ok($$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel,
                     attempt_outcome, attempted_at) values ('KEYED', 'svc-1', 'a0000000-0000-4000-8000-00000000000a', 'k1:' || repeat('0', 64),
                     'phone', 'connected', now())$$,
                'contact: a k1: value from a backend role (restores, backend jobs) is accepted as it is');
select is((select entity_key_hash from pilot_contact_attempt_events where pilot_cycle_id = 'KEYED'), 'k1:' || repeat('0', 64),
          'contact: … and not keyed twice');
select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'insert',
          $$insert into pilot_contact_attempt_events (pilot_cycle_id, service_id, recorded_by_org_id, entity_key_hash, attempt_channel,
              attempt_outcome, attempted_at) values ('c1', 'svc-shelter', 'a0000000-0000-4000-8000-00000000000a', 'k1:' || repeat('0', 64),
              'phone', 'connected', now())$$), 'error:22023', 'contact: a k1: value from an API role is refused (22023)');
select is(test_support.try_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}', 'select',
          $$select count(*) from pilot_private.pseudonym_keys$$), 'error:42501', 'no API role reads the key');
select is(test_support.try_as('service_role', '{}', 'select',
          $$select count(*) from pilot_private.pseudonym_keys$$), 'error:42501', '… not even service_role');

-- referrals (§3.2)
create temp table r as select
    $$insert into pilot_referral_events (pilot_cycle_id, source_org_id, target_service_id, referral_state, created_at,
        updated_at, terminal_at, failure_reason_code)
      values ('c1', 'a0000000-0000-4000-8000-00000000000a', %s, %s, '2026-06-01T10:00:00Z', %s, %s, %s)$$ as q;
select throws_ok(format((select q from r), '''svc 1''', '''initiated''', '''2026-06-01T10:00:00Z''', 'null', 'null'),
                 '23514', null, 'referral: target_service_id must be a code');
select throws_ok(format((select q from r), '''svc-1''', '''lost''', '''2026-06-01T10:00:00Z''', 'null', 'null'),
                 '23514', null, 'referral: referral_state enum');
select throws_ok(format((select q from r), '''svc-1''', '''initiated''', '''2026-06-01T09:00:00Z''', 'null', 'null'),
                 '23514', null, 'referral: updated_at not before created_at');
select throws_ok(format((select q from r), '''svc-1''', '''failed''', '''2026-06-01T10:00:00Z''', '''2026-06-01T09:00:00Z''', 'null'),
                 '23514', null, 'referral: terminal_at not before created_at');
select throws_ok(format((select q from r), '''svc-1''', '''failed''', '''2026-06-01T10:00:00Z''', 'null', 'null'),
                 '23514', null, 'referral: a terminal state needs terminal_at');
select throws_ok(format((select q from r), '''svc-1''', '''initiated''', '''2026-06-01T10:00:00Z''', 'null', '''ineligible'''),
                 '23514', null, 'referral: initiated forbids a failure reason');
select throws_ok(format((select q from r), '''svc-1''', '''failed''', '''2026-06-01T10:00:00Z''', '''2026-06-01T11:00:00Z''', '''lost'''),
                 '23514', null, 'referral: failure_reason_code enum');
select lives_ok(format((select q from r), '''svc-1''', '''failed''', '''2026-06-01T10:00:00Z''', '''2026-06-01T11:00:00Z''', '''ineligible'''),
                'referral: a failed referral with terminal_at and a reason is fine');
select is((select referral_state from pilot_referral_events where id = 'd0000000-0000-4000-8000-000000000001'), 'initiated',
          'referral: the default state is initiated');

-- A terminal referral does not move, for anyone (direct writes through PostgREST included).
update pilot_referral_events set referral_state = 'connected', terminal_at = '2026-06-02T10:00:00Z',
       updated_at = '2026-06-02T10:00:00Z' where id = 'd0000000-0000-4000-8000-000000000001';
select throws_ok($$update pilot_referral_events set referral_state = 'failed' where id = 'd0000000-0000-4000-8000-000000000001'$$,
                 'PT409', 'referral is already in a terminal state', 'referral: a terminal referral does not move (owner)');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$update public.pilot_referral_events set updated_at = now() where id = 'd0000000-0000-4000-8000-000000000001'$$),
          'ERROR PT409: referral is already in a terminal state', 'referral: a writer''s direct UPDATE of a terminal referral is refused');

-- metric snapshots (§3.3)
select throws_ok($$insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id) values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'M8')$$,
                 '23514', null, 'snapshot: metric_id enum');
select throws_ok($$insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, numerator) values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'M1', -1)$$,
                 '23514', null, 'snapshot: numerator not negative');
select throws_ok($$insert into pilot_metric_snapshots (pilot_cycle_id, org_id, metric_id, denominator) values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'M1', -0.5)$$,
                 '23514', null, 'snapshot: denominator not negative');

-- integration feasibility decisions (§3.4)
create temp table d as select
    $$insert into pilot_integration_feasibility_decisions (decision, decision_date, redline_checklist_version, owners,
        violations, compensating_controls) values (%s, '2026-06-30', %s, %s, %s, %s)$$ as q;
select throws_ok(format((select q from d), '''maybe''', '''v1''', '''{o}''', '''{}''', '''{}'''), '23514', null, 'decision: decision enum');
select throws_ok(format((select q from d), '''blocked''', 'repeat(''v'', 51)', '''{o}''', '''{}''', '''{}'''), '23514', null,
                 'decision: redline_checklist_version at most 50');
select throws_ok(format((select q from d), '''blocked''', '''v 1''', '''{o}''', '''{}''', '''{}'''), '23514', null,
                 'decision: redline_checklist_version is a code');
select throws_ok(format((select q from d), '''blocked''', '''v1''', '''{}''', '''{}''', '''{}'''), '23514', null, 'decision: at least one owner');
select throws_ok(format((select q from d), '''blocked''', '''v1''', '''{"owner one"}''', '''{}''', '''{}'''), '23514', null,
                 'decision: owners are codes');
select throws_ok(format((select q from d), '''blocked''', '''v1''', 'array[null]::text[]', '''{}''', '''{}'''), '23514', null,
                 'decision: owners hold no null');
select throws_ok(format((select q from d), '''blocked''', '''v1''', '''{o}''', '''{"free text here"}''', '''{}'''), '23514', null,
                 'decision: violations are codes');
select throws_ok(format((select q from d), '''go''', '''v1''', '''{o}''', '''{R1}''', '''{}'''), '23514', null, 'decision: go has no violations');
select throws_ok(format((select q from d), '''conditional''', '''v1''', '''{o}''', '''{R1}''', '''{}'''), '23514', null,
                 'decision: conditional needs a compensating control');
select lives_ok(format((select q from d), '''conditional''', '''v1''', '''{o}''', '''{R1}''', '''{C1}'''), 'decision: a valid conditional');

-- connections (§3.5)
select throws_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now())$$, '23514', null, 'connection: needs an anchor');
select throws_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id, referral_event_id)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), 'c0000000-0000-4000-8000-000000000001',
                           'd0000000-0000-4000-8000-000000000001')$$, '23514', null, 'connection: exactly one anchor');
select throws_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), gen_random_uuid())$$, '23503', null,
                 'connection: the anchor exists (foreign key)');
-- PostgreSQL 18 reports a RESTRICT refusal as 23001 restrict_violation; 15-17 as 23503.
select throws_ok($$delete from pilot_contact_attempt_events where id = 'c0000000-0000-4000-8000-000000000002'$$,
                 case when current_setting('server_version_num')::int >= 180000 then '23001' else '23503' end, null,
                 'connection: an anchor with connections cannot be deleted first (ON DELETE RESTRICT: 23503; 23001 on 18)');
-- The anchor is of the same cycle and organization, for direct writes too (composite foreign keys).
select throws_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
                   values ('cycle-other', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), 'c0000000-0000-4000-8000-000000000002')$$,
                 '23503', null, 'connection: an anchor of another cycle is refused (composite foreign key)');
select throws_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, referral_event_id)
                   values ('cycle-1', 'b0000000-0000-4000-8000-00000000000b', 'svc-food', now(), 'd0000000-0000-4000-8000-000000000001')$$,
                 '23503', null, 'connection: an anchor of another organization is refused');
select throws_ok($$update pilot_contact_attempt_events set pilot_cycle_id = 'cycle-2' where id = 'c0000000-0000-4000-8000-000000000002'$$,
                 '23503', null, 'connection: its anchor cannot move to another cycle afterwards');
select lives_ok($$insert into pilot_connection_events (pilot_cycle_id, org_id, service_id, connected_at, contact_attempt_event_id)
                  values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', now(), 'c0000000-0000-4000-8000-000000000001')$$,
                'connection: an anchor of the same cycle and organization is accepted');

-- scope, status, audits, preference fit (§3.5)
select throws_ok($$insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', 'gold')$$, '23514', null, 'scope: sla_tier enum');
select throws_ok($$insert into pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
                   values ('cycle-1', 'a0000000-0000-4000-8000-00000000000a', 'svc-shelter', 'standard')$$, '23505', null,
                 'scope: one row per (cycle, org, service)');
select throws_ok($$insert into service_operational_status_events (pilot_cycle_id, org_id, service_id, checked_at, status_code)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), 'open')$$, '23514', null, 'status: status_code enum');
select throws_ok($$insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, verification_mode)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), true, 'web_only')$$, '23514', null,
                 'audit: fatal needs a category');
select throws_ok($$insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), false, 'wrong_or_disconnected_phone', 'web_only')$$,
                 '23514', null, 'audit: a category only when fatal');
select throws_ok($$insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, fatal_error_category, verification_mode)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), true, 'typo', 'web_only')$$,
                 '23514', null, 'audit: fatal_error_category enum');
select throws_ok($$insert into pilot_data_decay_audits (pilot_cycle_id, org_id, service_id, audited_at, is_fatal, verification_mode)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-1', now(), false, 'phone_only')$$,
                 '23514', null, 'audit: verification_mode enum');
select throws_ok($$insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'cohort A', now(), true)$$, '23514', null,
                 'preference: cohort_label is a code');
select throws_ok($$insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at)
                   values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'cohort-a', now())$$, '23502', null,
                 'preference: preferred_via_platform is required');

-- Host rows are checked on write, after row-level security.
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              format((select contact from v), '''c1''', '''svc-missing''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null')),
          'ERROR 23503: service_id: no service with this id exists (public.services)',
          'host rows: a writer naming a missing service gets 23503 naming the column');
select is(test_support.run_as('authenticated', '{"sub":"55555555-5555-4555-8555-555555555555"}',
              format((select contact from v), '''c1''', '''svc-missing''', 'repeat(''a'', 64)', '''phone''', '''connected''', 'null', 'null')),
          'ERROR 42501: new row violates row-level security policy for table "pilot_contact_attempt_events"',
          'host rows: a non-member gets 42501 from RLS before learning anything about host rows');
select is(test_support.run_as('authenticated', '{"sub":"11111111-1111-4111-8111-111111111111"}',
              $$insert into public.pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
                values ('c1', '99999999-0000-4000-8000-000000000000', 'svc-shelter', 'crisis')$$),
          'ERROR 23503: org_id: no organization with this id exists (public.organizations)',
          'host rows: an admin naming a missing organization gets 23503 naming the column');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$insert into public.pilot_service_scope (pilot_cycle_id, org_id, service_id, sla_tier)
                values ('c1', 'a0000000-0000-4000-8000-00000000000a', 'svc-clinic', 'crisis') returning sla_tier$$),
          'crisis', 'host rows: a service hidden from the writer by host RLS still counts as existing');
select is(test_support.run_as('authenticated', '{"sub":"22222222-2222-4222-8222-222222222222"}',
              $$update public.pilot_service_scope set service_id = 'svc-gone' where service_id = 'svc-clinic'$$),
          'ERROR 23503: service_id: no service with this id exists (public.services)',
          'host rows: an update to a missing service is refused too');
select lives_ok($$insert into pilot_preference_fit_events (pilot_cycle_id, org_id, cohort_label, recorded_at, preferred_via_platform)
                   values ('c1', '99999999-0000-4000-8000-000000000000', 'c', now(), true)$$,
                'host rows: trusted roles (superuser, BYPASSRLS: what pg_restore runs as) are not checked');

-- Every pilot table is registered for pg_dump.
select is((select array_agg(c::regclass::text order by c::regclass::text) from pg_extension e, unnest(e.extconfig) c
            where e.extname = 'pilot_guardrails'),
          (select array_agg(t order by t) from (select distinct k.table_name::text as t from pilot_private.kinds() k
                                                union all select 'pilot_audit_events' union all select 'pilot_private.settings'
                                                union all select 'pilot_private.pseudonym_keys') x),
          'the nine pilot tables, the audit trail, the settings and the pseudonym key are registered with pg_extension_config_dump');

select * from finish();
