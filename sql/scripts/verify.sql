-- Read-only post-install verification (SPEC §9). Prints every check of pilot_verify() — failures
-- first — and exits non-zero when one fails:
--   psql -v ON_ERROR_STOP=1 -f sql/scripts/verify.sql "<connection string>"
\set ON_ERROR_STOP 1
begin transaction read only;
select "check", case when ok then 'ok' else 'FAILED' end as result, detail
  from public.pilot_verify()
 order by ok, "check";
do $$
declare
    failed int := (select count(*) from public.pilot_verify() where not ok);
begin
    if failed > 0 then
        raise exception 'pilot_verify: % check(s) failed', failed;
    end if;
    raise notice 'pilot_verify: all % checks ok', (select count(*) from public.pilot_verify());
end
$$;
rollback;
