; Natter's Windows installer, built by scripts/package.sh with Debian's makensis:
;   makensis -DVERSION=0.1.0 -DEXE=path\to\natter.exe -DOUTFILE=dist\natter-0.1.0-windows-x86_64-setup.exe natter.nsi
; Installs for the current person only (no administrator prompt) into
; %LOCALAPPDATA%\Programs\Natter, with Start-menu entries "Natter" and "Host a room", and an
; entry in Settings > Apps to remove it. The first time Natter hosts, Windows Firewall asks:
; allow it on private networks.
Unicode true
; 64-bit installer: natter.exe is 64-bit anyway, and Wine without 32-bit support (CI) can run it.
Target amd64-unicode
!include "MUI2.nsh"

Name "Natter"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\Natter"
SetCompressor /SOLID lzma

!define MUI_ICON "natter.ico"
!define MUI_UNICON "natter.ico"
!define MUI_FINISHPAGE_RUN "$INSTDIR\natter.exe"
!define UNINSTALL_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Natter"
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "English"

Section "Natter"
  SetOutPath "$INSTDIR"
  File "/oname=natter.exe" "${EXE}"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateDirectory "$SMPROGRAMS\Natter"
  CreateShortcut "$SMPROGRAMS\Natter\Natter.lnk" "$INSTDIR\natter.exe"
  CreateShortcut "$SMPROGRAMS\Natter\Host a room.lnk" "$INSTDIR\natter.exe" "--host"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayName" "Natter"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "Publisher" "Natter"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "DisplayIcon" "$INSTDIR\natter.exe"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTALL_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKCU "${UNINSTALL_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTALL_KEY}" "NoRepair" 1
SectionEnd

; Settings and the host key (%APPDATA%\Natter) stay: reinstalling keeps the same host code.
Section "Uninstall"
  Delete "$SMPROGRAMS\Natter\Natter.lnk"
  Delete "$SMPROGRAMS\Natter\Host a room.lnk"
  RMDir "$SMPROGRAMS\Natter"
  Delete "$INSTDIR\natter.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
SectionEnd
