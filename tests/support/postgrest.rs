//! A replay of what PostgREST (v12/v13) does on its database connection for one RPC request, over
//! a real connection, so the extension's HTTP behaviour is tested without a PostgREST binary.
//! Every rule below is PostgREST's documented behaviour (§ numbers refer to the team's PostgREST
//! contract notes: connection setup, SQLSTATE → HTTP, request headers, the `PGRST` error form).
//!
//! Per request (§1): one transaction `BEGIN ISOLATION LEVEL <the function's, else READ COMMITTED>
//! READ ONLY|READ WRITE`;
//! one `select set_config(k, v, true), …` in PostgREST's order (search_path, the impersonated role's
//! own settings, role, request.jwt.claims, request.method, request.path, request.headers,
//! request.cookies, then the function's hoisted `default_transaction_isolation`); the main query
//! in PostgREST's shape (`WITH pgrst_source AS (...) SELECT ...`); then `COMMIT`, or `ABORT` on
//! error. The SQLSTATE of an error becomes the HTTP status with PostgREST's table (§2). Functions
//! are resolved from a schema cache built the way PostgREST builds it (§1, "Resolution happens in
//! the schema cache").

use postgres::types::Type;
use postgres::{Client, NoTls};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const ANON_ROLE: &str = "anon";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// One cached function of the exposed schema.
#[derive(Debug, Clone)]
pub struct Proc {
    pub name: String,
    /// Names of the input arguments ("" when unnamed) and their types (format_type spelling).
    pub args: Vec<(String, String)>,
    /// How many trailing arguments have defaults.
    pub n_defaults: usize,
    /// 'i', 's' or 'v'.
    pub volatility: char,
    /// Returns rows (SETOF or TABLE) rather than one scalar.
    pub returns_rows: bool,
    /// The function's own `SET default_transaction_isolation`, which PostgREST hoists into the
    /// request's `BEGIN` (§1, "Isolation level").
    pub isolation: Option<String>,
    /// The media type of a media type handler (v12+): the name of the domain the function returns
    /// when that name is a media type (`text/html`), whatever the domain's schema.
    pub media_type: Option<String>,
}

impl Proc {
    fn single_unnamed_body_arg(&self) -> bool {
        self.args.len() == 1
            && self.args[0].0.is_empty()
            && matches!(
                self.args[0].1.as_str(),
                "json" | "jsonb" | "text" | "xml" | "bytea"
            )
    }
    fn required(&self) -> &[(String, String)] {
        &self.args[..self.args.len() - self.n_defaults]
    }
}

#[derive(Debug, Clone)]
pub struct Request {
    pub method: Method,
    /// `/rpc/<function>`
    pub path: String,
    /// The JWT payload; None means no Authorization header (PostgREST uses the anon role).
    pub jwt: Option<Value>,
    /// Request body (POST).
    pub body: Option<String>,
    /// Query string parameters (GET).
    pub query: Vec<(String, String)>,
    /// Request headers beyond PostgREST's defaults (e.g. `Idempotency-Key`), as the client sent them.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn post(function: &str, jwt: Option<Value>, body: &str) -> Self {
        Request {
            method: Method::Post,
            path: format!("/rpc/{function}"),
            jwt,
            body: Some(body.to_string()),
            query: vec![],
            headers: vec![],
        }
    }
    /// `POST /<table>` with a JSON object body: PostgREST's table endpoint (an INSERT under the
    /// caller's privileges and row-level security; 201 on success).
    pub fn insert(table: &str, jwt: Option<Value>, body: &str) -> Self {
        Request {
            method: Method::Post,
            path: format!("/{table}"),
            jwt,
            body: Some(body.to_string()),
            query: vec![],
            headers: vec![],
        }
    }
    pub fn get(function: &str, jwt: Option<Value>, query: &[(&str, &str)]) -> Self {
        Request {
            method: Method::Get,
            path: format!("/rpc/{function}"),
            jwt,
            body: None,
            query: query
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            headers: vec![],
        }
    }

    /// The request with one more header (PostgREST lower-cases names; a repeated header keeps its
    /// last value).
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Value,
    /// The transaction access mode the request ran in ("READ ONLY" / "READ WRITE").
    pub access_mode: &'static str,
    /// Response headers: `Content-Type`, those of a `PGRST` error (e.g. `Retry-After`), and on
    /// success those the request set in `response.headers`.
    pub headers: Vec<(String, String)>,
    /// The body as sent when a media type handler answered (`body` is then Null).
    pub raw: Option<String>,
}

impl Response {
    pub fn code(&self) -> Option<&str> {
        self.body.get("code").and_then(Value::as_str)
    }

    /// A response header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// PostgREST's SQLSTATE → HTTP status table (§2, `Error.hs` `pgErrorStatus`).
pub fn http_status(sqlstate: &str, message: &str, role: &str) -> u16 {
    let starts = |p: &str| sqlstate.starts_with(p);
    if let Some(rest) = sqlstate.strip_prefix("PT") {
        return rest.parse().unwrap_or(500);
    }
    match sqlstate {
        "53400" => return 500,
        "57P01" => return 503,
        "23503" | "23505" => return 409,
        "25006" => return 405,
        "21000" => {
            return if message.ends_with("requires a WHERE clause") {
                400
            } else {
                500
            }
        }
        "22023" => return 400,
        "P0001" => return 400,
        "42883" | "42P01" => return 404,
        "42501" => return if role == ANON_ROLE { 401 } else { 403 },
        "42P17" => return 500,
        _ => {}
    }
    if starts("08") || starts("53") {
        return 503;
    }
    if starts("0L") || starts("0P") || starts("28") {
        return 403;
    }
    for p in [
        "09", "25", "2D", "38", "39", "3B", "40", "54", "55", "57", "58", "F0", "HV", "P0", "XX",
    ] {
        if starts(p) {
            return 500;
        }
    }
    400
}

pub struct PostgRest {
    client: Client,
    schema: String,
    procs: HashMap<String, Vec<Proc>>,
    role_settings: HashMap<String, Vec<(String, String)>>,
}

/// `RAISE SQLSTATE 'PGRST'` (§2, §7): MESSAGE is JSON with string `code` and `message` (optional
/// string `details`, `hint`), DETAIL is JSON with an integer `status` and a `headers` object of
/// string values. None when either does not hold (PostgREST then answers PGRST121, HTTP 500).
fn pgrst_error(message: &str, detail: Option<&str>) -> Option<Response> {
    let m: Value = serde_json::from_str(message).ok()?;
    let d: Value = serde_json::from_str(detail?).ok()?;
    let text = |v: &Value, k: &str, required: bool| match v.get(k) {
        Some(Value::String(s)) => Some(Value::String(s.clone())),
        None | Some(Value::Null) if !required => Some(Value::Null),
        _ => None,
    };
    let body = json!({
        "code": text(&m, "code", true)?,
        "message": text(&m, "message", true)?,
        "details": text(&m, "details", false)?,
        "hint": text(&m, "hint", false)?,
    });
    let status = u16::try_from(d.get("status")?.as_u64()?).ok()?;
    let mut headers = Vec::new();
    for (k, v) in d.get("headers")?.as_object()? {
        headers.push((k.clone(), v.as_str()?.to_string()));
    }
    Some(Response {
        status,
        body,
        access_mode: "",
        headers,
        raw: None,
    })
}

fn top_level_keys(body: &str) -> Vec<String> {
    use serde::Deserialize;
    let mut de = serde_json::Deserializer::from_str(body);
    de.disable_recursion_limit();
    std::collections::BTreeMap::<String, serde::de::IgnoredAny>::deserialize(&mut de)
        .map(|m| m.into_keys().collect())
        .unwrap_or_default()
}

/// Content negotiation of an RPC (PostgREST v12, media type handlers): the media type whose handler
/// answers, or None for PostgREST's builtin `application/json`. A function returning a domain named
/// after a media type answers with it when `Accept` names that type exactly; `*/*` and
/// `application/json` get JSON (PostgREST resolves `*/*` to JSON, not to a handler). Anything else
/// is 406 PGRST107. Media ranges with `q=0` are refused by the client and left out.
fn negotiate(req: &Request, proc: &Proc) -> Result<Option<String>, Response> {
    let accept = req
        .headers
        .iter()
        .rev()
        .find(|(k, _)| k.eq_ignore_ascii_case("accept"))
        .map(|(_, v)| v.as_str())
        .unwrap_or("application/json");
    let ranges: Vec<String> = accept
        .split(',')
        .filter_map(|r| {
            let mut parts = r.split(';').map(str::trim);
            let range = parts.next()?.to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f64>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            (!range.is_empty() && !refused).then_some(range)
        })
        .collect();
    if let Some(mt) = &proc.media_type {
        if ranges.iter().any(|r| r == mt) {
            return Ok(Some(mt.clone()));
        }
    }
    if ranges.is_empty() || ranges.iter().any(|r| r == "application/json" || r == "*/*") {
        return Ok(None);
    }
    Err(PostgRest::error(
        406,
        "PGRST107",
        &format!(
            "None of these media types are available: {}",
            ranges.join(", ")
        ),
    ))
}

fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

impl PostgRest {
    /// Connect as the authenticator role (a NOINHERIT login role granted the API roles) and build
    /// the schema cache of `schema`.
    pub fn connect(dsn: &str, schema: &str) -> Result<Self, postgres::Error> {
        let client = Client::connect(dsn, NoTls)?;
        let mut api = PostgRest {
            client,
            schema: schema.to_string(),
            procs: HashMap::new(),
            role_settings: HashMap::new(),
        };
        api.reload_schema_cache()?;
        Ok(api)
    }

    /// The schema cache: non-trigger `prokind = 'f'` functions of the exposed schema whose
    /// arguments are all named, or that have exactly one unnamed json/jsonb/text/xml/bytea argument.
    pub fn reload_schema_cache(&mut self) -> Result<(), postgres::Error> {
        self.procs.clear();
        let rows = self.client.query(
            "select p.proname::text, p.provolatile::text, p.proretset or t.typtype = 'c' or t.oid = 'record'::regtype,
                    p.pronargs::int, p.pronargdefaults::int,
                    coalesce(p.proargnames[1:p.pronargs], array_fill(''::text, array[p.pronargs])),
                    array(select format_type(a, null) from unnest(p.proargtypes) a),
                    (select substr(c, length('default_transaction_isolation=') + 1) from unnest(p.proconfig) c
                      where c like 'default_transaction_isolation=%'),
                    case when t.typtype = 'd' and t.typname ~ '^[a-z]+/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*$' then t.typname::text end
               from pg_proc p join pg_type t on t.oid = p.prorettype
              where p.pronamespace = $1::text::regnamespace and p.prokind = 'f' and t.typname <> 'trigger'",
            &[&self.schema],
        )?;
        for row in rows {
            let names: Vec<Option<String>> = row.get(5);
            let types: Vec<String> = row.get(6);
            let args: Vec<(String, String)> = names
                .into_iter()
                .map(|n| n.unwrap_or_default())
                .zip(types)
                .collect();
            let all_named = args.iter().all(|(n, _)| !n.is_empty());
            let proc = Proc {
                name: row.get(0),
                args,
                n_defaults: row.get::<_, i32>(4) as usize,
                volatility: row.get::<_, String>(1).chars().next().unwrap_or('v'),
                returns_rows: row.get(2),
                isolation: row.get(7),
                media_type: row.get(8),
            };
            if all_named || proc.single_unnamed_body_arg() {
                self.procs.entry(proc.name.clone()).or_default().push(proc);
            }
        }
        self.role_settings.clear();
        let rows = self.client.query(
            "select r.rolname::text, unnest(s.setconfig)
               from pg_db_role_setting s join pg_roles r on r.oid = s.setrole
              where s.setdatabase in (0, (select oid from pg_database where datname = current_database()))",
            &[],
        )?;
        for row in rows {
            let role: String = row.get(0);
            let setting: String = row.get(1);
            if let Some((k, v)) = setting.split_once('=') {
                self.role_settings
                    .entry(role)
                    .or_default()
                    .push((k.to_string(), v.to_string()));
            }
        }
        Ok(())
    }

    /// True when the connection is gone (the server crashed or closed it).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Direct access to the connection (as authenticator), e.g. for SET in tests.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    fn error(status: u16, code: &str, message: &str) -> Response {
        Response {
            status,
            body: json!({"code": code, "message": message, "details": null, "hint": null}),
            access_mode: "",
            headers: vec![],
            raw: None,
        }
    }

    /// The table endpoint's INSERT (PostgREST v12, `Prefer: return=minimal`): the body's top-level
    /// keys are the columns, the rows come from `json_populate_recordset` over the body made an array.
    fn plan_insert(
        &self,
        table: &str,
        req: &Request,
    ) -> Result<(Proc, String, Vec<String>), Response> {
        let body = req.body.clone().unwrap_or_else(|| "{}".into());
        let cols: Vec<String> = top_level_keys(&body)
            .iter()
            .map(|c| quote_ident(c))
            .collect();
        let qualified = format!("{}.{}", quote_ident(&self.schema), quote_ident(table));
        let picked: Vec<String> = cols.iter().map(|c| format!("pgrst_body.{c}")).collect();
        let call = format!(
            "INSERT INTO {qualified}({}) SELECT {} FROM (SELECT $1::json AS json_data) pgrst_payload, \
             LATERAL (SELECT CASE WHEN json_typeof(pgrst_payload.json_data) = 'array' THEN pgrst_payload.json_data \
                                  ELSE json_build_array(pgrst_payload.json_data) END AS val) pgrst_uniform_json, \
             LATERAL (SELECT * FROM json_populate_recordset(null::{qualified}, pgrst_uniform_json.val)) pgrst_body \
             RETURNING 1",
            cols.join(", "),
            picked.join(", ")
        );
        let proc = Proc {
            name: table.to_string(),
            args: vec![],
            n_defaults: 0,
            volatility: 'v',
            returns_rows: true,
            isolation: None,
            media_type: None,
        };
        Ok((proc, call, vec![body]))
    }

    /// Pick the function and build `<call>` plus its parameters (all sent as text).
    fn plan(&self, req: &Request) -> Result<(Proc, String, Vec<String>), Response> {
        if let Some(table) = req
            .path
            .strip_prefix('/')
            .filter(|p| !p.starts_with("rpc/"))
        {
            if req.method == Method::Post {
                return self.plan_insert(table, req);
            }
        }
        let name = req
            .path
            .strip_prefix("/rpc/")
            .ok_or_else(|| Self::error(404, "PGRST125", "invalid path"))?;
        let candidates = self.procs.get(name).cloned().unwrap_or_default();
        let qualified = format!("{}.{}", quote_ident(&self.schema), quote_ident(name));
        let keys: Vec<String> = match req.method {
            Method::Get => req.query.iter().map(|(k, _)| k.clone()).collect(),
            // The top-level keys only, at any nesting depth below them (PostgREST's parser has no
            // depth limit; serde_json's default of 128 levels would miss the keys of a deep body).
            Method::Post => req.body.as_deref().map(top_level_keys).unwrap_or_default(),
        };
        // Named overloads whose required params are all given and whose keys are all params.
        let named: Vec<&Proc> = candidates
            .iter()
            .filter(|p| !p.single_unnamed_body_arg())
            .filter(|p| {
                p.required().iter().all(|(n, _)| keys.contains(n))
                    && keys.iter().all(|k| p.args.iter().any(|(n, _)| n == k))
            })
            .collect();
        let chosen = match named.len() {
            1 => named[0].clone(),
            0 => match candidates.iter().find(|p| p.single_unnamed_body_arg()) {
                Some(p) if req.method == Method::Post => {
                    // Fallback: the whole body, positionally.
                    let call = format!(
                        "SELECT pgrst_call.pgrst_scalar FROM (SELECT $1::{ty} AS json_data) pgrst_payload, \
                         LATERAL (SELECT {qualified}(pgrst_payload.json_data) pgrst_scalar) pgrst_call",
                        ty = p.args[0].1
                    );
                    return Ok((p.clone(), call, vec![req.body.clone().unwrap_or_default()]));
                }
                _ => {
                    return Err(Self::error(
                        404,
                        "PGRST202",
                        &format!(
                            "Could not find the function {}.{name} in the schema cache",
                            self.schema
                        ),
                    ))
                }
            },
            _ => {
                return Err(Self::error(
                    300,
                    "PGRST203",
                    "Could not choose the best candidate function",
                ))
            }
        };
        let given: Vec<&(String, String)> = chosen
            .args
            .iter()
            .filter(|(n, _)| keys.contains(n))
            .collect();
        match req.method {
            Method::Get => {
                // v13: direct named arguments with casts, one parameter per query value.
                let mut params = Vec::new();
                let args: Vec<String> = given
                    .iter()
                    .map(|(n, ty)| {
                        let value = req
                            .query
                            .iter()
                            .find(|(k, _)| k == n)
                            .map(|(_, v)| v.clone())
                            .unwrap_or_default();
                        params.push(value);
                        format!("{} := ${}::{ty}", quote_ident(n), params.len())
                    })
                    .collect();
                let call = if chosen.returns_rows {
                    format!(
                        "SELECT pgrst_call.* FROM {qualified}({}) pgrst_call",
                        args.join(", ")
                    )
                } else {
                    format!("SELECT {qualified}({}) pgrst_scalar", args.join(", "))
                };
                Ok((chosen, call, params))
            }
            Method::Post => {
                let cols: Vec<String> = given.iter().map(|(n, _)| quote_ident(n)).collect();
                let typed: Vec<String> = given
                    .iter()
                    .map(|(n, ty)| format!("{} {ty}", quote_ident(n)))
                    .collect();
                let args: Vec<String> = given
                    .iter()
                    .map(|(n, _)| format!("{} := pgrst_body.{}", quote_ident(n), quote_ident(n)))
                    .collect();
                let body = format!(
                    "FROM (SELECT $1::json AS json_data) pgrst_payload, \
                     LATERAL (SELECT {} FROM json_to_record(pgrst_payload.json_data) AS _({}) LIMIT 1) pgrst_body",
                    if cols.is_empty() { "1".to_string() } else { cols.join(", ") },
                    if typed.is_empty() { "\"_\" int".to_string() } else { typed.join(", ") }
                );
                let call = if chosen.returns_rows {
                    format!(
                        "SELECT pgrst_call.* {body}, LATERAL {qualified}({}) pgrst_call",
                        args.join(", ")
                    )
                } else {
                    format!("SELECT pgrst_call.pgrst_scalar {body}, LATERAL (SELECT {qualified}({}) pgrst_scalar) pgrst_call", args.join(", "))
                };
                Ok((
                    chosen,
                    call,
                    vec![req.body.clone().unwrap_or_else(|| "{}".into())],
                ))
            }
        }
    }

    /// Run one request the way PostgREST runs it; the transaction is committed or aborted.
    pub fn request(&mut self, req: &Request) -> Response {
        let (proc, call, params) = match self.plan(req) {
            Ok(p) => p,
            Err(resp) => return resp,
        };
        let handler = match negotiate(req, &proc) {
            Ok(h) => h,
            Err(resp) => return resp,
        };
        // Role and claims (Auth.hs): the JWT's role, else the anon role; claims carry the role.
        let role = req
            .jwt
            .as_ref()
            .and_then(|j| j.get("role"))
            .and_then(Value::as_str)
            .unwrap_or(ANON_ROLE)
            .to_string();
        let mut claims = match &req.jwt {
            Some(Value::Object(m)) => m.clone(),
            _ => Map::new(),
        };
        claims.insert("role".into(), Value::String(role.clone()));
        let read_only = req.method == Method::Get || proc.volatility != 'v';
        let access_mode = if read_only { "READ ONLY" } else { "READ WRITE" };

        // set_config list, in PostgREST's order.
        let mut settings: Vec<(String, String)> = vec![(
            "search_path".into(),
            format!("{}, \"public\"", quote_ident(&self.schema)),
        )];
        settings.extend(self.role_settings.get(&role).cloned().unwrap_or_default());
        settings.push(("role".into(), role.clone()));
        settings.push((
            "request.jwt.claims".into(),
            Value::Object(claims).to_string(),
        ));
        settings.push((
            "request.method".into(),
            if req.method == Method::Get {
                "GET"
            } else {
                "POST"
            }
            .into(),
        ));
        settings.push(("request.path".into(), req.path.clone()));
        let mut headers = if req.method == Method::Post {
            json!({"content-type": "application/json", "accept": "application/json", "host": "127.0.0.1"})
        } else {
            json!({"accept": "application/json", "host": "127.0.0.1"})
        };
        for (name, value) in &req.headers {
            headers[name.to_ascii_lowercase()] = Value::String(value.clone());
        }
        settings.push(("request.headers".into(), headers.to_string()));
        settings.push(("request.cookies".into(), "{}".into()));
        // Hoisted function settings (§1, item 10; the default allow-list): the function's own
        // default_transaction_isolation, which PostgREST also puts into BEGIN.
        if let Some(isolation) = &proc.isolation {
            settings.push(("default_transaction_isolation".into(), isolation.clone()));
        }
        let set_sql = format!(
            "select {}",
            (0..settings.len())
                .map(|i| format!("set_config(${}, ${}, true)", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let set_params: Vec<String> = settings
            .iter()
            .flat_map(|(k, v)| [k.clone(), v.clone()])
            .collect();

        let body_expr = if handler.is_some() && !proc.returns_rows {
            // A media type handler's scalar: the value itself, as the body.
            "coalesce(pg_catalog.string_agg(_postgrest_t.pgrst_scalar::text, ''), '')"
        } else if proc.returns_rows {
            "coalesce(json_agg(_postgrest_t), '[]')::text"
        } else {
            "coalesce((json_agg(_postgrest_t.pgrst_scalar)->0)::text, 'null')"
        };
        let main = format!(
            "WITH pgrst_source AS ({call}) \
             SELECT null::bigint AS total_result_set, pg_catalog.count(_postgrest_t) AS page_total, {body_expr} AS body, \
                    nullif(current_setting('response.headers', true), '') AS response_headers, \
                    nullif(current_setting('response.status', true), '') AS response_status \
               FROM (SELECT * FROM pgrst_source) _postgrest_t"
        );

        let outcome = (|| -> Result<(String, Option<String>, Option<String>), postgres::Error> {
            let isolation = proc
                .isolation
                .as_deref()
                .unwrap_or("read committed")
                .to_ascii_uppercase();
            self.client
                .batch_execute(&format!("BEGIN ISOLATION LEVEL {isolation} {access_mode}"))?;
            let set_types = vec![Type::TEXT; set_params.len()];
            let stmt = self.client.prepare_typed(&set_sql, &set_types)?;
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = set_params
                .iter()
                .map(|s| s as &(dyn postgres::types::ToSql + Sync))
                .collect();
            self.client.execute(&stmt, &refs)?;
            let types = vec![Type::TEXT; params.len()];
            let stmt = self.client.prepare_typed(&main, &types)?;
            let refs: Vec<&(dyn postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|s| s as &(dyn postgres::types::ToSql + Sync))
                .collect();
            let row = self.client.query_one(&stmt, &refs)?;
            let body: String = row.get(2);
            let headers: Option<String> = row.get(3);
            let status: Option<String> = row.get(4);
            Ok((body, headers, status))
        })();
        match outcome {
            Ok((body, set_headers, set_status)) => match self.client.batch_execute("COMMIT") {
                Ok(()) => {
                    let mut headers = vec![(
                        "Content-Type".to_string(),
                        format!(
                            "{}; charset=utf-8",
                            handler.as_deref().unwrap_or("application/json")
                        ),
                    )];
                    // response.headers: a JSON array of one-key objects (PostgREST's GUC headers).
                    let set: Value = set_headers
                        .as_deref()
                        .and_then(|h| serde_json::from_str(h).ok())
                        .unwrap_or(Value::Null);
                    for (k, v) in set
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_object)
                        .flatten()
                    {
                        if let Some(v) = v.as_str() {
                            headers.retain(|(name, _)| !name.eq_ignore_ascii_case(k));
                            headers.push((k.to_string(), v.to_string()));
                        }
                    }
                    let default = if req.path.starts_with("/rpc/") {
                        200
                    } else {
                        201
                    };
                    Response {
                        status: set_status.and_then(|s| s.parse().ok()).unwrap_or(default),
                        body: if handler.is_some() {
                            Value::Null
                        } else {
                            serde_json::from_str(&body).unwrap_or(Value::Null)
                        },
                        access_mode,
                        headers,
                        raw: handler.is_some().then_some(body),
                    }
                }
                Err(e) => self.failed(e, &role, access_mode),
            },
            Err(e) => {
                let _ = self.client.batch_execute("ABORT");
                self.failed(e, &role, access_mode)
            }
        }
    }

    fn failed(&mut self, e: postgres::Error, role: &str, access_mode: &'static str) -> Response {
        match e.as_db_error() {
            Some(db) if db.code().code() == "PGRST" => {
                let mut r = pgrst_error(db.message(), db.detail()).unwrap_or_else(|| {
                    Self::error(
                        500,
                        "PGRST121",
                        "Could not parse JSON in the \"RAISE SQLSTATE 'PGRST'\" error",
                    )
                });
                r.access_mode = access_mode;
                r
            }
            Some(db) => {
                let code = db.code().code();
                Response {
                    status: http_status(code, db.message(), role),
                    body: json!({"code": code, "message": db.message(), "details": db.detail(), "hint": db.hint()}),
                    access_mode,
                    headers: vec![],
                    raw: None,
                }
            }
            None => Response {
                status: 503,
                body: json!({"code": "PGRST000", "message": e.to_string()}),
                access_mode,
                headers: vec![],
                raw: None,
            },
        }
    }
}

#[cfg(test)]
mod status_table {
    use super::http_status;

    #[test]
    fn the_pgrst_error_form() {
        let ok = super::pgrst_error(
            r#"{"code": "PT429", "message": "rate limit"}"#,
            Some(r#"{"status": 429, "headers": {"Retry-After": "17"}}"#),
        )
        .expect("a valid PGRST error");
        assert_eq!(ok.status, 429);
        assert_eq!(ok.header("retry-after"), Some("17"));
        assert_eq!(ok.body["code"], "PT429");
        assert!(ok.body["details"].is_null());
        // PGRST121 cases: a non-string header value, DETAIL or MESSAGE not JSON, missing fields.
        let bad = [
            (
                r#"{"code": "PT429", "message": "m"}"#,
                Some(r#"{"status": 429, "headers": {"Retry-After": 17}}"#),
            ),
            (r#"{"code": "PT429", "message": "m"}"#, Some("not json")),
            ("not json", Some(r#"{"status": 429, "headers": {}}"#)),
            (
                r#"{"code": "PT429"}"#,
                Some(r#"{"status": 429, "headers": {}}"#),
            ),
            (
                r#"{"code": "PT429", "message": "m"}"#,
                Some(r#"{"headers": {}}"#),
            ),
            (r#"{"code": "PT429", "message": "m"}"#, None),
        ];
        for (message, detail) in bad {
            assert!(
                super::pgrst_error(message, detail).is_none(),
                "{message} / {detail:?}"
            );
        }
    }

    #[test]
    fn statuses_follow_postgrest() {
        assert_eq!(http_status("PT404", "", "authenticated"), 404);
        assert_eq!(http_status("PT501", "", "authenticated"), 501);
        assert_eq!(http_status("PTxyz", "", "authenticated"), 500);
        assert_eq!(http_status("42501", "", "anon"), 401);
        assert_eq!(http_status("42501", "", "authenticated"), 403);
        assert_eq!(http_status("22023", "", "authenticated"), 400);
        assert_eq!(http_status("23503", "", "authenticated"), 409);
        assert_eq!(http_status("0A000", "", "authenticated"), 400);
        assert_eq!(http_status("P0002", "", "authenticated"), 500);
        assert_eq!(http_status("P0001", "", "authenticated"), 400);
        assert_eq!(http_status("25006", "", "authenticated"), 405);
        assert_eq!(http_status("42P01", "", "authenticated"), 404);
        assert_eq!(http_status("53300", "", "authenticated"), 503);
        assert_eq!(http_status("53400", "", "authenticated"), 500);
        assert_eq!(http_status("XX000", "", "authenticated"), 500);
        assert_eq!(http_status("23514", "", "authenticated"), 400);
    }
}
