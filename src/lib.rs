//! Orrery: a live Planet on Cloudflare Workers.
//!
//! Entry points only; the work is in `core` (pure) and `edge` (the Worker boundary).

pub mod core;

#[cfg(target_arch = "wasm32")]
pub mod edge;

/// The Durable Object classes wrangler.jsonc names.
#[cfg(target_arch = "wasm32")]
pub use edge::objects::{feed::FeedObject, publisher::Publisher, room::Room};

#[cfg(target_arch = "wasm32")]
mod entry {
    use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

    #[event(fetch)]
    async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
        use crate::edge::meter;
        let what = format!("{} {}", req.method().as_ref(), req.path());
        // Cloudflare's own request id, where there is one, ties the event to its logs.
        let cid = req.headers().get("cf-ray").ok().flatten();
        let env2 = env.clone();
        meter::invocation(
            &env2,
            "worker",
            &what,
            cid,
            crate::edge::http::handle(req, env, ctx),
        )
        .await
    }

    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        let run = crate::edge::jobs::cron::run(&env);
        crate::edge::meter::invocation(&env, "cron", "scheduled", None, run).await;
    }
}
