//! A typst `World` that lives entirely in memory: one template, one JSON data file, the files
//! the template attaches to the PDF and the bundled fonts. It never reads the file system, the
//! network or the clock, so the same input always lays out to the same PDF bytes.

use std::sync::LazyLock;

use typst::diag::{FileError, FileResult};
use typst::foundations::{Bytes, Datetime, Duration};
use typst::syntax::{FileId, RootedPath, Source, VirtualPath, VirtualRoot};
use typst::text::{Font, FontBook};
use typst::utils::LazyHash;
use typst::{Library, LibraryExt, World};

/// The bundled font files (SIL Open Font License 1.1, see `fonts/OFL.txt`).
const FONT_FILES: &[&[u8]] = &[
    include_bytes!("fonts/Inter-Regular.otf"),
    include_bytes!("fonts/Inter-Italic.otf"),
    include_bytes!("fonts/Inter-Medium.otf"),
    include_bytes!("fonts/Inter-SemiBold.otf"),
    include_bytes!("fonts/Inter-Bold.otf"),
];

/// Parsed once per process: fonts and the standard library are immutable and shared.
struct Shared {
    library: LazyHash<Library>,
    book: LazyHash<FontBook>,
    fonts: Vec<Font>,
}

static SHARED: LazyLock<Shared> = LazyLock::new(|| {
    let fonts: Vec<Font> = FONT_FILES
        .iter()
        .flat_map(|data| Font::iter(Bytes::new(*data)))
        .collect();
    Shared {
        library: LazyHash::new(Library::default()),
        book: LazyHash::new(FontBook::from_fonts(&fonts)),
        fonts,
    }
});

fn file_id(path: &str) -> FileId {
    let vpath = VirtualPath::new(path).expect("static virtual path is valid");
    RootedPath::new(VirtualRoot::Project, vpath).intern()
}

/// The layout shared by the executive report and its annex (palette, page, tables), which
/// templates import with `#import "/common.typ": *`.
const COMMON_TEMPLATE: &str = include_str!("templates/common.typ");

/// The template's main file, the shared layout and the data file the template reads with
/// `json("/data.json")`.
pub(crate) struct MemoryWorld {
    main_id: FileId,
    main: Source,
    common_id: FileId,
    common: Source,
    data_id: FileId,
    data: Bytes,
    /// Files the template attaches to the PDF (`/<name>`), by path.
    attachments: Vec<(FileId, Bytes)>,
}

impl MemoryWorld {
    pub(crate) fn new(template: &'static str, data_json: Vec<u8>) -> MemoryWorld {
        let main_id = file_id("/main.typ");
        let common_id = file_id("/common.typ");
        MemoryWorld {
            main_id,
            main: Source::new(main_id, template.to_string()),
            common_id,
            common: Source::new(common_id, COMMON_TEMPLATE.to_string()),
            data_id: file_id("/data.json"),
            data: Bytes::new(data_json),
            attachments: Vec::new(),
        }
    }

    /// The same world with files the template may attach, each at `/<name>` (at the root: the
    /// path is the attachment's file name in the PDF).
    pub(crate) fn with_attachments(mut self, files: &[(String, bytes::Bytes)]) -> MemoryWorld {
        self.attachments = files
            .iter()
            .map(|(name, data)| {
                let id = file_id(&format!("/{name}"));
                (id, Bytes::new(data.clone()))
            })
            .collect();
        self
    }

    /// `line N` of the template (or `common.typ line N`) a span points into.
    pub(crate) fn line_of(&self, span: typst::syntax::DiagSpan) -> Option<String> {
        use typst::WorldExt;
        let (source, prefix) = if span.id() == Some(self.main_id) {
            (&self.main, "")
        } else if span.id() == Some(self.common_id) {
            (&self.common, "common.typ ")
        } else {
            return None;
        };
        let range = self.range(span)?;
        let line = source.text()[..range.start].matches('\n').count() + 1;
        Some(format!("{prefix}line {line}"))
    }
}

impl World for MemoryWorld {
    fn library(&self) -> &LazyHash<Library> {
        &SHARED.library
    }

    fn book(&self) -> &LazyHash<FontBook> {
        &SHARED.book
    }

    fn main(&self) -> FileId {
        self.main_id
    }

    fn source(&self, id: FileId) -> FileResult<Source> {
        if id == self.main_id {
            Ok(self.main.clone())
        } else if id == self.common_id {
            Ok(self.common.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn file(&self, id: FileId) -> FileResult<Bytes> {
        if id == self.data_id {
            Ok(self.data.clone())
        } else if id == self.main_id {
            Ok(Bytes::from_string(self.main.text().to_string()))
        } else if let Some((_, data)) = self.attachments.iter().find(|(a, _)| *a == id) {
            Ok(data.clone())
        } else {
            Err(not_found(id))
        }
    }

    fn font(&self, index: usize) -> Option<Font> {
        SHARED.fonts.get(index).cloned()
    }

    /// No clock: a report must not depend on when it was rendered.
    fn today(&self, _offset: Option<Duration>) -> Option<Datetime> {
        None
    }
}

fn not_found(id: FileId) -> FileError {
    FileError::NotFound(id.vpath().get_with_slash().into())
}
