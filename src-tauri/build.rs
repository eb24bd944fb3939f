//! Reads tauri.conf.json and capabilities/ and embeds them (and ../ui/dist) in the app.

fn main() {
    tauri_build::build();
}
