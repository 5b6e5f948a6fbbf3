//! Every chart holdco draws, rendered to pixels (resvg) and checked as a reader would look
//! at it: something is drawn, every text lies inside the canvas, labels do not overlap, and
//! the CJK names render (the fonts the SVG lists include one with Chinese glyphs). The PNGs
//! are written to `target/charts/` to be looked at.

mod common;

use common::{example_copy, holdco};
use resvg::usvg;
use std::path::{Path, PathBuf};

/// Text boxes of a rendered chart, in canvas pixels.
fn text_boxes(group: &usvg::Group, out: &mut Vec<(String, usvg::Rect)>) {
    for node in group.children() {
        match node {
            usvg::Node::Group(inner) => text_boxes(inner, out),
            usvg::Node::Text(text) => {
                let content: String = text.chunks().iter().map(|c| c.text().to_string()).collect();
                out.push((content, text.abs_bounding_box()));
            }
            _ => {}
        }
    }
}

fn options() -> usvg::Options<'static> {
    let mut options = usvg::Options::default();
    options.fontdb_mut().load_system_fonts();
    options
}

/// Renders one SVG file, saves the PNG beside the others (its name after `prefix`) and
/// checks what a reader sees.
fn look_at(svg: &Path, options: &usvg::Options, prefix: &str) -> PathBuf {
    let data = std::fs::read(svg).unwrap();
    let text = String::from_utf8_lossy(&data);
    assert!(
        text.contains("font-family"),
        "{}: no font stack stated",
        svg.display()
    );
    let tree =
        usvg::Tree::from_data(&data, options).unwrap_or_else(|e| panic!("{}: {e}", svg.display()));
    let size = tree.size();
    let mut pixmap =
        resvg::tiny_skia::Pixmap::new(size.width().ceil() as u32, size.height().ceil() as u32)
            .unwrap();
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::default(),
        &mut pixmap.as_mut(),
    );
    let drawn = pixmap
        .pixels()
        .iter()
        .filter(|p| p.red() < 200 || p.green() < 200 || p.blue() < 200)
        .count();
    assert!(
        drawn > 1_000,
        "{}: almost nothing drawn ({drawn} pixels)",
        svg.display()
    );
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/charts");
    std::fs::create_dir_all(&out).unwrap();
    let png = out
        .join(format!(
            "{prefix}{}",
            svg.file_name().unwrap().to_string_lossy()
        ))
        .with_extension("png");
    pixmap.save_png(&png).unwrap();

    let mut boxes = Vec::new();
    text_boxes(tree.root(), &mut boxes);
    // Without fonts nothing can be measured: allowed on a developer's machine (said), never
    // in CI, whose .ci/run installs them.
    let fonts = options.fontdb.len();
    if fonts == 0 {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "no system fonts in CI: .ci/run installs fonts-noto-cjk"
        );
        eprintln!(
            "no system fonts: text boxes of {} not checked",
            svg.display()
        );
        return png;
    }
    let cjk = options
        .fontdb
        .faces()
        .any(|f| f.families.iter().any(|(name, _)| name.contains("CJK")));
    assert!(
        cjk || std::env::var("CI").as_deref() != Ok("true"),
        "no CJK font in CI: .ci/run installs fonts-noto-cjk"
    );
    assert!(!boxes.is_empty(), "{}: no text", svg.display());
    let (w, h) = (size.width(), size.height());
    for (content, rect) in &boxes {
        assert!(
            rect.left() >= -0.5
                && rect.top() >= -0.5
                && rect.right() <= w + 0.5
                && rect.bottom() <= h + 0.5,
            "{}: text {content:?} at {rect:?} leaves the {w}x{h} canvas",
            svg.display()
        );
    }
    for (i, (a, ra)) in boxes.iter().enumerate() {
        for (b, rb) in boxes.iter().skip(i + 1) {
            let overlap_w = (ra.right().min(rb.right()) - ra.left().max(rb.left())).max(0.0);
            let overlap_h = (ra.bottom().min(rb.bottom()) - ra.top().max(rb.top())).max(0.0);
            let smaller = (ra.width() * ra.height())
                .min(rb.width() * rb.height())
                .max(1.0);
            assert!(
                overlap_w * overlap_h < 0.2 * smaller,
                "{}: labels {a:?} and {b:?} overlap",
                svg.display()
            );
        }
    }
    png
}

#[test]
fn every_chart_renders_readably() {
    let dir = tempfile::tempdir().unwrap();
    let model = example_copy(dir.path());
    let db = dir.path().join("store.db");
    holdco(&db).arg("import").arg(&model).assert().success();
    let charts = dir.path().join("charts");
    std::fs::create_dir_all(&charts).unwrap();
    holdco(&db)
        .args(["classify", "--at", "2025-05-15", "--svg"])
        .arg(charts.join("portfolio.svg"))
        .assert()
        .success();
    holdco(&db)
        .args(["plan", "--svg"])
        .arg(charts.join("plan.svg"))
        .assert()
        .code(predicates::ord::le(1));
    holdco(&db)
        .args([
            "scenario",
            "compare",
            "spin-off-cloud",
            "keep-cloud",
            "--paths",
            "20000",
            "--svg",
        ])
        .arg(charts.join("scenarios"))
        .assert()
        .success();
    let options = options();
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in walk(&charts) {
        if entry.extension().is_some_and(|e| e == "svg") {
            files.push(entry);
        }
    }
    assert!(files.len() >= 5, "{files:?}");
    for file in &files {
        look_at(file, &options, "");
    }
    // The fans draw the actual history before the projection, labelled, with a footnote
    // naming its source, the paths and the seed.
    let fan = std::fs::read_to_string(charts.join("scenarios/revenue-fan.svg")).unwrap();
    for expected in [
        ">actual<",
        ">FY2021<",
        ">FY2030<",
        "20,000 Monte Carlo paths, seed 2023",
        "--view restated --structure 2025-03-31",
        "Spin off Cloud to shareholders",
    ] {
        assert!(fan.contains(expected), "revenue fan lacks {expected:?}");
    }
    // The bundled example's charts (README) render as well.
    let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/alibaba/charts");
    for entry in walk(&bundled)
        .into_iter()
        .filter(|e| e.extension().is_some_and(|x| x == "svg"))
    {
        look_at(&entry, &options, "bundled-");
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}
