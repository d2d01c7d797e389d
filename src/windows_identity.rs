//! Natter's identity on Windows: the AppUserModelID ([`crate::APP_ID`]) that ties its window,
//! its taskbar button, the installer's Start-menu shortcuts and its toasts together. Without
//! one, toasts borrowed PowerShell's identity ("Windows PowerShell" above each, and a click on
//! one went to PowerShell, not Natter).
//!
//! Owns two things: the process's explicit AppUserModelID (set before any window exists), and
//! the per-person registration Windows needs before it shows a toast under an id
//! (`HKCU\Software\Classes\AppUserModelId\<id>`, with the name toasts show). The installer
//! writes the same key with the icon and its shortcuts carry the same id
//! (`packaging/windows/natter.nsi`); the zip's `natter.exe` has only what it writes itself.
//! What a notification says and when is `notify`.

use std::io;

use windows_sys::Win32::Foundation::{ERROR_SUCCESS, WIN32_ERROR};
use windows_sys::Win32::System::Com::CoTaskMemFree;
use windows_sys::Win32::System::Registry::{
    HKEY_CURRENT_USER, REG_SZ, RRF_RT_REG_SZ, RegGetValueW, RegSetKeyValueW,
};
use windows_sys::Win32::UI::Shell::{
    GetCurrentProcessExplicitAppUserModelID, SetCurrentProcessExplicitAppUserModelID,
};
use windows_sys::core::PWSTR;

/// The name toasts show above their title, and Settings → Notifications lists.
const DISPLAY_NAME: &str = "Natter";

/// NUL-terminated UTF-16, as the wide Win32 calls take it.
fn wide(text: &str) -> Vec<u16> {
    text.encode_utf16().chain(std::iter::once(0)).collect()
}

fn registry_error(code: WIN32_ERROR) -> io::Error {
    // Win32 error numbers are small positive numbers: they fit an i32.
    io::Error::from_raw_os_error(i32::try_from(code).unwrap_or(i32::MAX))
}

/// Makes `id` this process's AppUserModelID: its windows group under it on the taskbar (with
/// a pinned or Start-menu shortcut carrying the same id), and Windows attributes its toasts
/// to it. Call before any window is made.
pub fn adopt(id: &str) -> io::Result<()> {
    let id = wide(id);
    // SAFETY: `id` is NUL-terminated and outlives the call; Windows copies it.
    let result = unsafe { SetCurrentProcessExplicitAppUserModelID(id.as_ptr()) };
    if result < 0 {
        return Err(io::Error::from_raw_os_error(result));
    }
    Ok(())
}

/// The AppUserModelID this process set with [`adopt`], read back from Windows.
pub fn adopted() -> Option<String> {
    let mut id: PWSTR = std::ptr::null_mut();
    // SAFETY: Windows stores a CoTaskMemAlloc'ed, NUL-terminated string in `id` on success;
    // it is read up to its NUL and freed once.
    unsafe {
        if GetCurrentProcessExplicitAppUserModelID(&mut id) < 0 || id.is_null() {
            return None;
        }
        let len = (0..).take_while(|&i| *id.add(i) != 0).count();
        let text = String::from_utf16_lossy(std::slice::from_raw_parts(id, len));
        CoTaskMemFree(id.cast());
        Some(text)
    }
}

/// The registry key (under HKEY_CURRENT_USER) that registers `id` for toasts.
fn key(id: &str) -> String {
    format!(r"Software\Classes\AppUserModelId\{id}")
}

/// Registers `id` for this person so that Windows shows its toasts (it drops toasts from an
/// id nobody registered), under the name Natter. Leaves a registration that is there
/// already (the installer's, which also names the icon) as it is.
pub fn register_for_toasts(id: &str) -> io::Result<()> {
    if display_name(id).is_some() {
        return Ok(());
    }
    set_display_name(id, DISPLAY_NAME)
}

/// Writes the name `id` is registered under for toasts (made with its key if missing).
fn set_display_name(id: &str, shown: &str) -> io::Result<()> {
    let key = wide(&key(id));
    let name = wide("DisplayName");
    let value = wide(shown);
    let bytes = u32::try_from(value.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: all three strings are NUL-terminated and outlive the call; `bytes` is the
    // value's size including its NUL, as REG_SZ wants.
    let result = unsafe {
        RegSetKeyValueW(
            HKEY_CURRENT_USER,
            key.as_ptr(),
            name.as_ptr(),
            REG_SZ,
            value.as_ptr().cast(),
            bytes,
        )
    };
    if result != ERROR_SUCCESS {
        return Err(registry_error(result));
    }
    Ok(())
}

/// The name `id` is registered under for toasts, if it is.
pub fn display_name(id: &str) -> Option<String> {
    let key = wide(&key(id));
    let name = wide("DisplayName");
    let mut buffer = [0u16; 256];
    let mut bytes = u32::try_from(buffer.len() * 2).unwrap_or(u32::MAX);
    // SAFETY: `buffer` holds `bytes` bytes; Windows writes at most that many, NUL included.
    let result = unsafe {
        RegGetValueW(
            HKEY_CURRENT_USER,
            key.as_ptr(),
            name.as_ptr(),
            RRF_RT_REG_SZ,
            std::ptr::null_mut(),
            buffer.as_mut_ptr().cast(),
            &mut bytes,
        )
    };
    if result != ERROR_SUCCESS {
        return None;
    }
    let len = buffer.iter().position(|&c| c == 0).unwrap_or(buffer.len());
    Some(String::from_utf16_lossy(&buffer[..len]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use windows_sys::Win32::System::Registry::RegDeleteTreeW;

    /// Removes a test's registration, also when the test fails.
    struct Unregister(String);

    impl Drop for Unregister {
        fn drop(&mut self) {
            let key = wide(&key(&self.0));
            // SAFETY: a NUL-terminated key name under HKEY_CURRENT_USER.
            unsafe {
                RegDeleteTreeW(HKEY_CURRENT_USER, key.as_ptr());
            }
        }
    }

    // Toasts are the window's (notify-rust comes with the feature `window`), and CI's Windows
    // tests are built without it (scripts/windows_tests.sh): this one runs in a Windows test
    // build with the window (`cargo test --target x86_64-pc-windows-gnu --lib`).
    #[cfg(feature = "window")]
    #[test]
    fn toasts_carry_the_app_user_model_id_the_process_adopts() {
        adopt(crate::APP_ID).unwrap();
        let toast = crate::notify::toast(&crate::notify::Notification {
            title: "dana (private)".into(),
            body: "hi".into(),
            conversation: crate::chat_state::ConversationKey::private("dana"),
        });
        let toast = format!("{toast:?}");
        assert!(
            toast.contains(&format!("app_id: Some({:?})", crate::APP_ID)),
            "the toast's app id is not the one the process adopts: {toast}"
        );
        // Wine 8's shcore only pretends (Set and Get are stubs: Get always fails), so the read
        // back is Windows' own; scripts/test_package.sh sees natter.exe's Set call under Wine.
        if std::env::var("NATTER_UNDER_WINE").is_ok_and(|v| v == "1") {
            eprintln!(
                "under Wine: GetCurrentProcessExplicitAppUserModelID is a stub, not read back"
            );
        } else {
            assert_eq!(adopted().as_deref(), Some(crate::APP_ID));
        }
    }

    #[test]
    fn registering_for_toasts_names_the_id_natter_and_keeps_an_existing_registration() {
        // An id of this test's own, so that Natter's registration on this machine is untouched.
        let id = format!("io.github.natter.Test{}", std::process::id());
        let _unregister = Unregister(id.clone());
        assert_eq!(display_name(&id), None, "a fresh id is registered already");
        register_for_toasts(&id).unwrap();
        assert_eq!(display_name(&id).as_deref(), Some("Natter"));
        // The installer's registration (here: another name) is left as it is.
        set_display_name(&id, "Natter (installed)").unwrap();
        register_for_toasts(&id).unwrap();
        assert_eq!(display_name(&id).as_deref(), Some("Natter (installed)"));
    }
}
