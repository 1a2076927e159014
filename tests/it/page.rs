//! The dashboard page is served from the binary with a strict CSP.

use crate::on_both_backends;

on_both_backends! {
    async fn the_page_and_its_assets_are_served_with_security_headers(app: TestApp) {
        let response = app.client.get(app.url("/")).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200);
        let csp = response.headers()["content-security-policy"].to_str().expect("csp").to_owned();
        assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        let html = response.text().await.expect("html");
        assert!(html.contains("/assets/js/main.js") && html.contains("/assets/style.css"));
        assert!(!html.contains("http://") && !html.contains("https://"), "no external assets");
        assert!(!html.contains("style=") && !html.contains("<script>"), "no inline styles or scripts");
        let assets = cicd_dashboard::web::script_paths().map(|p| (p, "javascript")).chain([("/assets/style.css", "css")]);
        for (path, kind) in assets {
            let response = app.client.get(app.url(path)).send().await.expect("sent");
            assert_eq!(response.status().as_u16(), 200);
            assert!(response.headers()["content-type"].to_str().expect("type").contains(kind));
            let text = response.text().await.expect("text");
            assert!(!text.contains("innerHTML"), "{path} must not write HTML from data");
        }
    }
}
