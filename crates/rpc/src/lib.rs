//! The RPC dialect shared by RAM and STS: parameters from the query and a form body, the action
//! and version, JSON or XML responses, and vendor error bodies.

use keyless_auth::{authenticate, Caller};
use keyless_http::{Access, Handler, HttpReq, HttpResp};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_platform::state::State;
use keyless_wire::clip;
use keyless_wire::xml::json_to_xml;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Most parameters one request may carry, and the longest value.
const MAX_PARAMS: usize = 128;
const MAX_VALUE_BYTES: usize = 32 * 1024;

/// A parsed RPC request.
pub struct RpcCall<'a> {
    pub state: &'a State,
    pub http: &'a HttpReq,
    pub params: Vec<(String, String)>,
    pub action: String,
    pub caller: Caller,
    pub request_id: String,
}

impl RpcCall<'_> {
    /// An optional parameter.
    pub fn opt(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A required, non-empty parameter.
    pub fn req(&self, name: &str) -> Result<&str, ApiError> {
        self.opt(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| ApiError::missing(name))
    }
}

/// One product served in the RPC dialect (RAM or STS).
pub trait Product: Send + Sync + 'static {
    /// `ram` or `sts`: the service on access lines.
    fn service(&self) -> &'static str;
    /// `2015-05-01` for RAM, `2015-04-01` for STS.
    fn version(&self) -> &'static str;
    /// Whether `action` belongs to this product.
    fn has_action(&self, action: &str) -> bool;
    /// Runs an authenticated call; the returned object becomes the response body (with `RequestId`).
    fn call(&self, call: &RpcCall<'_>) -> Result<Map<String, Value>, ApiError>;
    /// Whether calls may block on storage (they then run on the blocking pool). STS answers from
    /// caches and queues its audit records, so it runs inline.
    fn blocking(&self) -> bool {
        true
    }
}

/// The HTTP handler for an RPC product.
pub struct RpcHandler<P> {
    pub state: Arc<State>,
    pub product: P,
}

fn parse_params(http: &HttpReq) -> Result<Vec<(String, String)>, ApiError> {
    let mut params = keyless_sign::form_decode(&http.query).map_err(|e| {
        ApiError::bad(
            "InvalidParameter",
            format!("The query string is malformed: {e}."),
        )
    })?;
    let is_form = http.header("content-type").is_some_and(|c| {
        c.to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded")
    });
    if is_form && !http.body.is_empty() {
        let body = std::str::from_utf8(&http.body)
            .map_err(|_| ApiError::bad("InvalidParameter", "The form body is not valid UTF-8."))?;
        let more = keyless_sign::form_decode(body).map_err(|e| {
            ApiError::bad(
                "InvalidParameter",
                format!("The form body is malformed: {e}."),
            )
        })?;
        params.extend(more);
    }
    if params.len() > MAX_PARAMS {
        return Err(ApiError::bad(
            "InvalidParameter",
            format!("Too many parameters: at most {MAX_PARAMS} are accepted."),
        ));
    }
    for (i, (k, v)) in params.iter().enumerate() {
        if v.len() > MAX_VALUE_BYTES || k.len() > 256 {
            return Err(ApiError::bad(
                "InvalidParameter",
                format!("The parameter \"{}\" is too long.", clip(k)),
            ));
        }
        if params[..i].iter().any(|(k2, _)| k2 == k) {
            return Err(ApiError::bad(
                "InvalidParameter",
                format!("The parameter \"{}\" is given more than once.", clip(k)),
            ));
        }
    }
    Ok(params)
}

fn find<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

impl<P: Product> RpcHandler<P> {
    fn wants_xml(params: &[(String, String)]) -> bool {
        find(params, "Format").is_some_and(|f| f.eq_ignore_ascii_case("xml"))
    }

    fn render_error(&self, e: &ApiError, request_id: &str, xml: bool) -> HttpResp {
        let body = e.body(request_id, &self.state.config().host_id);
        if e.status >= 500 {
            tracing::error!(
                service = self.product.service(),
                request_id,
                code = %e.code,
                message = %e.message,
                "internal error"
            );
        }
        if xml {
            HttpResp::new(
                e.status,
                "text/xml;charset=utf-8",
                json_to_xml("Error", &body),
            )
        } else {
            HttpResp::new(e.status, "application/json;charset=utf-8", body.to_string())
        }
    }

    fn run(
        &self,
        http: &HttpReq,
        request_id: &str,
        access: &mut Access,
    ) -> Result<(String, Map<String, Value>), ApiError> {
        let params = parse_params(http)?;
        let action = match (find(&params, "Action"), http.header("x-acs-action")) {
            (Some(a), Some(h)) if a != h => {
                return Err(ApiError::bad(
                    "InvalidParameter",
                    "The Action parameter and the x-acs-action header differ.",
                ))
            }
            (Some(a), _) | (None, Some(a)) => a.to_owned(),
            (None, None) => return Err(ApiError::missing("Action")),
        };
        if !self.product.has_action(&action) {
            return Err(ApiError::new(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            ));
        }
        access.route = Some(action.clone().into());
        let version = find(&params, "Version").or(http.header("x-acs-version"));
        match version {
            Some(v) if v == self.product.version() => {}
            Some(_) => {
                return Err(ApiError::bad(
                    "InvalidVersion",
                    "Specified parameter Version is not valid.",
                ))
            }
            None => return Err(ApiError::missing("Version")),
        }
        let caller = authenticate(&self.state, http, &params)?;
        access.caller = Some(caller.arn());
        let call = RpcCall {
            state: &self.state,
            http,
            params,
            action: action.clone(),
            caller,
            request_id: request_id.to_owned(),
        };
        let body = self.product.call(&call)?;
        Ok((action, body))
    }
}

impl<P: Product> Handler for RpcHandler<P> {
    fn handle(&self, http: HttpReq) -> HttpResp {
        if http.method == "GET" && http.path == "/health" {
            return HttpResp::new(200, "text/plain", "ok");
        }
        let request_id = ids::request_id();
        let xml = keyless_sign::form_decode(&http.query)
            .map(|p| Self::wants_xml(&p))
            .unwrap_or(false);
        let mut access = Access {
            request_id: Some(request_id.clone()),
            ..Access::default()
        };
        let result = self.run(&http, &request_id, &mut access);
        access.decide(result.as_ref().is_err_and(|e| e.denied.is_some()));
        let resp = match result {
            Ok((action, body)) => {
                let mut m = Map::new();
                m.insert("RequestId".into(), Value::String(request_id.clone()));
                m.extend(body);
                let v = Value::Object(m);
                let mut resp = if xml {
                    HttpResp::new(
                        200,
                        "text/xml;charset=utf-8",
                        json_to_xml(&format!("{action}Response"), &v),
                    )
                } else {
                    HttpResp::new(200, "application/json;charset=utf-8", v.to_string())
                };
                resp.headers.push(("x-acs-request-id".into(), request_id));
                resp
            }
            Err(e) => {
                let mut resp = self.render_error(&e, &request_id, xml);
                resp.headers.push(("x-acs-request-id".into(), request_id));
                resp
            }
        };
        resp.with_access(access)
    }

    fn service(&self) -> &'static str {
        self.product.service()
    }

    fn reject(&self, status: u16, message: &str) -> HttpResp {
        let request_id = ids::request_id();
        self.render_error(
            &ApiError::transport_rejection(status, message),
            &request_id,
            false,
        )
        .with_access(Access {
            request_id: Some(request_id),
            ..Access::default()
        })
    }

    fn blocking(&self) -> bool {
        self.product.blocking()
    }
}
