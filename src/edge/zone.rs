//! The planet's time zone at the edge: JavaScript's `Intl` answers, so the wasm carries no time zone data.
//!
//! chrono-tz would compile the whole IANA database into the Worker (about 145 KB gzipped,
//! measured: docs/configuration.md); the runtime already has it for `Intl.DateTimeFormat`.

use wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::js_sys;

use crate::core::config::Config;
use crate::core::river::{Utc, Zone};

#[wasm_bindgen]
extern "C" {
    /// `Intl.DateTimeFormat`, seen only for `format(ms)`.
    #[wasm_bindgen(js_namespace = Intl, js_name = DateTimeFormat)]
    type DateTimeFormat;
    #[wasm_bindgen(constructor, js_namespace = Intl, js_class = "DateTimeFormat", catch)]
    fn new(locale: &str, options: &JsValue) -> Result<DateTimeFormat, JsValue>;
    #[wasm_bindgen(method, js_class = "DateTimeFormat")]
    fn format(this: &DateTimeFormat, ms: f64) -> String;
}

/// A named zone, answered by `Intl.DateTimeFormat`.
struct IntlZone(DateTimeFormat);

impl Zone for IntlZone {
    fn offset_ms(&self, utc_ms: i64) -> i64 {
        let second = utc_ms.div_euclid(1000) * 1000;
        // "12/07/2026, 17:51:10" (en-US, 24 h): month, day, year, hour, minute, second.
        #[allow(clippy::cast_precision_loss)] // unix ms fit an f64 exactly
        let text = self.0.format(second as f64);
        let n: Vec<i64> = text
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.parse().ok())
            .collect();
        let [month, day, year, hour, minute, sec] = n[..] else {
            return 0;
        };
        let date = u32::try_from(month)
            .ok()
            .zip(u32::try_from(day).ok())
            .and_then(|(m, d)| chrono::NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, m, d));
        let Some(date) = date else {
            return 0;
        };
        let days = date
            .signed_duration_since(chrono::NaiveDate::default())
            .num_days();
        let local = days * 86_400_000 + ((hour % 24) * 3600 + minute * 60 + sec) * 1000;
        local - second
    }
}

/// The planet's zone from `PLANET_TIMEZONE`, or why it cannot be used.
pub fn planet_zone(cfg: &Config) -> Result<Box<dyn Zone>, String> {
    let name = cfg.planet_timezone.as_str();
    if matches!(name, "UTC" | "Etc/UTC") {
        return Ok(Box::new(Utc));
    }
    let options = js_sys::Object::new();
    let set = |k: &str, v: &str| js_sys::Reflect::set(&options, &k.into(), &v.into());
    let ok = [
        ("timeZone", name),
        ("hourCycle", "h23"),
        ("year", "numeric"),
        ("month", "2-digit"),
        ("day", "2-digit"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("second", "2-digit"),
    ]
    .iter()
    .all(|(k, v)| set(k, v).is_ok());
    match DateTimeFormat::new("en-US", &options) {
        Ok(f) if ok => Ok(Box::new(IntlZone(f))),
        _ => Err(format!(
            "PLANET_TIMEZONE: {name:?} is not a time zone this runtime knows (an IANA name \
             such as Europe/Paris); using UTC"
        )),
    }
}

/// The planet's zone, UTC when `PLANET_TIMEZONE` cannot be used (`/healthz` and `/admin`
/// say so: [`planet_zone`]'s problem joins the config's).
pub fn zone_or_utc(cfg: &Config) -> Box<dyn Zone> {
    planet_zone(cfg).unwrap_or_else(|_| Box::new(Utc))
}
