//! Demo feed server for `make dev`: a few RSS / Atom / JSON feeds on loopback that gain an entry every few seconds.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

struct DemoFeed {
    path: &'static str,
    title: &'static str,
    kind: Kind,
    every_s: u64,
}

#[derive(Clone, Copy)]
enum Kind {
    Rss,
    Atom,
    Json,
}

const FEEDS: &[DemoFeed] = &[
    DemoFeed {
        path: "/mercury.rss",
        title: "Mercury Dispatch",
        kind: Kind::Rss,
        every_s: 9,
    },
    DemoFeed {
        path: "/venus.atom",
        title: "Venus Notes",
        kind: Kind::Atom,
        every_s: 13,
    },
    DemoFeed {
        path: "/mars.json",
        title: "Mars Log",
        kind: Kind::Json,
        every_s: 17,
    },
];

const WORDS: &[&str] = &[
    "orbit",
    "perihelion",
    "transit",
    "eclipse",
    "apogee",
    "comet",
    "nebula",
    "parallax",
    "azimuth",
    "libration",
    "occultation",
    "syzygy",
    "umbra",
    "zenith",
    "meridian",
    "equinox",
];

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn rfc3339(t: u64) -> String {
    let days = t / 86_400;
    let secs = t % 86_400;
    // Civil date from days since 1970 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// RFC 822 date, as RSS 2.0 wants it.
fn rfc822(t: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let iso = rfc3339(t);
    let (y, m, d) = (
        &iso[0..4],
        iso[5..7].parse::<usize>().unwrap_or(1),
        &iso[8..10],
    );
    format!(
        "{}, {d} {} {y} {} +0000",
        DAYS[(t / 86_400 % 7) as usize],
        MONTHS[m - 1],
        &iso[11..19]
    )
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Entries 0..=n where n grows with time; the newest ten are served.
fn entries(f: &DemoFeed, start: u64, now: u64) -> Vec<(u64, String, u64, String)> {
    let n = 3 + (now.saturating_sub(start)) / f.every_s;
    (n.saturating_sub(9)..=n)
        .rev()
        .map(|k| {
            let w1 = WORDS[(k as usize * 7 + f.every_s as usize) % WORDS.len()];
            let w2 = WORDS[(k as usize * 3 + 5) % WORDS.len()];
            let title = format!("{} #{k}: {w1} and {w2}", f.title);
            let published = start.saturating_sub(3 * f.every_s) + k * f.every_s;
            let body = format!(
                "<p>Observation {k} from the {} desk: the {w1} lined up with the {w2}.</p>\
                 <p><a href=\"/notes/{k}\">Read the notes</a>.</p>",
                f.title
            );
            (k, title, published, body)
        })
        .collect()
}

fn render(f: &DemoFeed, base: &str, start: u64, now: u64) -> (String, &'static str) {
    let items = entries(f, start, now);
    match f.kind {
        Kind::Rss => {
            let mut s = format!(
                "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>{}</title><link>{base}/</link>\
                 <description>A demo feed</description>",
                esc(f.title)
            );
            for (k, title, published, body) in items {
                s += &format!(
                    "<item><title>{}</title><link>{base}{}/{k}</link><guid>{base}{}/{k}</guid>\
                     <pubDate>{}</pubDate><description>{}</description></item>",
                    esc(&title),
                    f.path,
                    f.path,
                    rfc822(published),
                    esc(&body)
                );
            }
            (s + "</channel></rss>", "application/rss+xml")
        }
        Kind::Atom => {
            let mut s = format!(
                "<?xml version=\"1.0\"?><feed xmlns=\"http://www.w3.org/2005/Atom\"><title>{}</title>\
                 <id>{base}{}</id><link href=\"{base}/\"/><updated>{}</updated>",
                esc(f.title), f.path, rfc3339(now)
            );
            for (k, title, published, body) in items {
                s += &format!(
                    "<entry><title>{}</title><id>{base}{}/{k}</id><link href=\"{base}{}/{k}\"/>\
                     <published>{}</published><updated>{}</updated><author><name>Demo Author</name></author>\
                     <content type=\"html\">{}</content></entry>",
                    esc(&title), f.path, f.path, rfc3339(published), rfc3339(published), esc(&body)
                );
            }
            (s + "</feed>", "application/atom+xml")
        }
        Kind::Json => {
            let items: Vec<String> = items
                .into_iter()
                .map(|(k, title, published, body)| {
                    format!(
                        "{{\"id\":\"{base}{}/{k}\",\"url\":\"{base}{}/{k}\",\"title\":{:?},\"content_html\":{:?},\"date_published\":\"{}\"}}",
                        f.path, f.path, title, body, rfc3339(published)
                    )
                })
                .collect();
            (
                format!(
                    "{{\"version\":\"https://jsonfeed.org/version/1.1\",\"title\":{:?},\"home_page_url\":\"{base}/\",\"items\":[{}]}}",
                    f.title,
                    items.join(",")
                ),
                "application/feed+json",
            )
        }
    }
}

fn serve(mut stream: TcpStream, base: &str, start: u64) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut if_none_match = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).map_or(true, |n| n == 0) || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("if-none-match") {
                if_none_match = Some(v.trim().to_string());
            }
        }
    }
    let response = match FEEDS.iter().find(|f| f.path == path) {
        Some(f) => {
            let (body, ctype) = render(f, base, start, now_s());
            let etag = format!(
                "\"{:x}\"",
                body.len() as u64 * 31 + entries(f, start, now_s())[0].0
            );
            if if_none_match.as_deref() == Some(etag.as_str()) {
                format!("HTTP/1.1 304 Not Modified\r\nETag: {etag}\r\nConnection: close\r\n\r\n")
            } else {
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {ctype}; charset=utf-8\r\nETag: {etag}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            }
        }
        None => {
            let list: Vec<String> = FEEDS.iter().map(|f| format!("{base}{}", f.path)).collect();
            let body = list.join("\n") + "\n";
            format!(
                "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
        }
    };
    let _ = stream.write_all(response.as_bytes());
}

fn main() {
    let mut port = 8788u16;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--port" => port = args.next().and_then(|p| p.parse().ok()).unwrap_or(port),
            "--list" => {
                for f in FEEDS {
                    println!("http://127.0.0.1:{port}{}", f.path);
                }
                return;
            }
            _ => {
                eprintln!("usage: demo-feeds [--port N] [--list]");
                std::process::exit(2);
            }
        }
    }
    let listener = match TcpListener::bind(("127.0.0.1", port)) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-feeds: cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        }
    };
    let base = format!("http://127.0.0.1:{port}");
    let start = now_s();
    eprintln!("demo-feeds: serving {} feeds on {base}", FEEDS.len());
    for stream in listener.incoming().flatten() {
        let base = base.clone();
        std::thread::spawn(move || serve(stream, &base, start));
    }
}
