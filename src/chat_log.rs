//! Saving the chat as a text file: the format and the atomic write.
//!
//! Owns the log's layout and writing it safely. Does not own the save dialog (the app runs it
//! on a thread of its own) or what is in the chat (it is handed the lines).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::chat_state::{ChatLine, LineKind};
use crate::network::text::{clean_text, single_line};

/// The name the save dialog suggests: `natter-YYYY-MM-DD.txt`, today's local date.
pub fn default_file_name(today: chrono::NaiveDate) -> String {
    format!("natter-{}.txt", today.format("%Y-%m-%d"))
}

/// One line per message: `YYYY-MM-DD HH:MM:SS  nick: text`, in local time and logical order.
/// Further lines of a multi-line message are indented; system lines start with `*`; a private
/// conversation's lines with `(private, dana)`.
pub fn format_log(lines: &[ChatLine]) -> String {
    let mut out = String::new();
    for line in lines {
        let stamp = line.time.format("%Y-%m-%d %H:%M:%S");
        let (who, text) = match &line.kind {
            LineKind::Message {
                from,
                text,
                action: true,
                ..
            } => (format!("* {from} "), text.as_str()),
            LineKind::Message { from, text, .. } => (format!("{from}: "), text.as_str()),
            LineKind::System(text) | LineKind::File { summary: text, .. } => {
                ("* ".to_string(), text.as_str())
            }
            LineKind::Plain(text) => ("host> ".to_string(), text.as_str()),
        };
        // A private conversation's lines say whose they are, in a log of everything.
        let who = match line.with.nick() {
            Some(with) => format!("(private, {with}) {who}"),
            None => who,
        };
        // Text from others was cleaned when it arrived; this keeps the file safe to `cat`
        // whatever the source of a line.
        let (who, text) = (single_line(&who), clean_text(text));
        out.push_str(&format!("{stamp}  {who}"));
        for (i, part) in text.split('\n').enumerate() {
            if i > 0 {
                out.push_str("\n                     ");
            }
            out.push_str(part);
        }
        out.push('\n');
    }
    out
}

/// Writes `contents` to `path` so that the file is either the old one or the complete new
/// one, never half: write a temporary file beside it, flush it to disk, then rename.
pub fn write_atomically(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "natter-log.txt".into());
    let temp: PathBuf = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        // A temporary file left by a crash of this same process id goes first: the new one is
        // created readable by the person only (`save::private_new_file`), never reused.
        let _ = std::fs::remove_file(&temp);
        let mut file = crate::save::private_new_file().open(&temp)?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// What to tell the person after saving.
pub fn outcome_message(path: &Path, result: &std::io::Result<()>) -> String {
    match result {
        Ok(()) => format!("Chat log saved to {}.", path.display()),
        Err(e) => format!(
            "Could not save the chat log to {}: {e}. Pick another folder, or check there is space.",
            path.display()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat_state::Delivery;
    use chrono::TimeZone;

    fn line(kind: LineKind) -> ChatLine {
        ChatLine::new(
            chrono::Local
                .with_ymd_and_hms(2026, 11, 23, 9, 30, 5)
                .unwrap(),
            kind,
        )
    }

    #[test]
    fn the_log_has_date_time_nick_and_text_in_logical_order() {
        let lines = vec![
            line(LineKind::System("alice joined".into())),
            line(LineKind::Message {
                id: Some(1),
                from: "דנה".into(),
                text: "שלום world\nsecond line".into(),
                delivery: Delivery::Delivered,
                local_id: None,
                action: false,
            }),
        ];
        assert_eq!(
            format_log(&lines),
            "2026-11-23 09:30:05  * alice joined\n\
             2026-11-23 09:30:05  דנה: שלום world\n                     second line\n"
        );
    }

    #[test]
    fn no_escape_or_control_byte_reaches_the_file() {
        let lines = vec![
            line(LineKind::System("\u{1b}]0;PWNED\u{7}x left".into())),
            line(LineKind::Message {
                id: Some(1),
                from: "ev\u{1b}[2Jil\n".into(),
                text: "a\u{9b}31mb\r\nc".into(),
                delivery: Delivery::Delivered,
                local_id: None,
                action: false,
            }),
            line(LineKind::Plain("\u{1b}[1mplain\u{7}".into())),
        ];
        let log = format_log(&lines);
        assert!(!log.chars().any(|c| c.is_control() && c != '\n'), "{log:?}");
        assert!(log.contains("evil : ab\n"), "{log:?}");
    }

    #[test]
    fn default_name_is_dated() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        assert_eq!(default_file_name(day), "natter-2026-11-23.txt");
    }

    #[test]
    fn writing_replaces_the_file_whole_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.txt");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, "new 你好\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new 你好\n");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn a_failed_write_says_what_to_do_and_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-folder").join("log.txt");
        let result = write_atomically(&path, "x");
        assert!(result.is_err());
        assert!(outcome_message(&path, &result).contains("Pick another folder"));
    }
}
