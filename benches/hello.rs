//! A bare actix-web hello world, the ceiling `make bench` measures this service against: the
//! same actix-web version and release profile, one worker, no middleware. Serves `GET /` on
//! 127.0.0.1:`PORT` (default 18090) until killed.

use actix_web::{App, HttpResponse, HttpServer, web};

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(18090);
    HttpServer::new(|| {
        App::new().route(
            "/",
            web::get().to(|| async { HttpResponse::Ok().body("Hello, world!") }),
        )
    })
    .workers(1)
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
