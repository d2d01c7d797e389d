; Natter's Windows installer, built by scripts/package.sh with Debian's makensis:
;   makensis -DVERSION=0.1.0 -DEXE=path\to\natter.exe -DOUTFILE=dist\natter-0.1.0-windows-x86_64-setup.exe natter.nsi
; Installs for the current person only (no administrator prompt) into
; %LOCALAPPDATA%\Programs\Natter, with Start-menu entries "Natter" and "Host a room", and an
; entry in Settings > Apps to remove it. The first time Natter hosts, Windows Firewall asks:
; allow it on private networks.
; Both shortcuts carry Natter's AppUserModelID, the one natter.exe adopts at startup
; (src/windows_identity.rs), and the id is registered for toasts with Natter's name and icon:
; Windows then counts the shortcuts, the window and its notifications as one app, Natter.
Unicode true
; 64-bit installer: natter.exe is 64-bit anyway, and Wine without 32-bit support (CI) can run it.
Target amd64-unicode
!include "MUI2.nsh"
; COM helpers and property keys that come with NSIS (no WinShell plug-in needed).
!include "LogicLib.nsh"
!include "Win\COM.nsh"
!include "Win\Propkey.nsh"

!define APP_ID "io.github.natter.Natter"
!define AUMID_KEY "Software\Classes\AppUserModelId\${APP_ID}"

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

; Gives the shortcut named in $0 Natter's AppUserModelID (PKEY_AppUserModel_ID): opens it as a
; shell link, sets the property and saves it. A failure is reported in the details and leaves
; a working shortcut without the id. (Wine's shell link ignores the property: only Windows
; keeps it.)
Function StampAppId
  Push $1
  Push $2
  Push $3
  Push $4
  Push $5
  Push $6
  StrCpy $6 "not a shell link"
  !insertmacro ComHlpr_CreateInProcInstance ${CLSID_ShellLink} ${IID_IShellLink} r1 ""
  ${If} $1 P<> 0
    StrCpy $6 "cannot open it"
    ${IUnknown::QueryInterface} $1 '("${IID_IPersistFile}",.r2)'
    ${If} $2 P<> 0
      ${IPersistFile::Load} $2 '("$0",${STGM_READWRITE}).r5'
      ${IUnknown::QueryInterface} $1 '("${IID_IPropertyStore}",.r3)'
      ${If} $5 = 0
      ${AndIf} $3 P<> 0
        ; A VT_LPWSTR PROPVARIANT pointing at the id (SetValue copies it).
        System::Call '*(&w64 "${APP_ID}")p.r4'
        System::Call '*${SYSSTRUCT_PROPVARIANT}(${VT_LPWSTR},,$4)p.r5'
        System::Call '*${SYSSTRUCT_PROPERTYKEY}(${PKEY_AppUserModel_ID})p.r6'
        ${IPropertyStore::SetValue} $3 '($6,$5).r6'
        System::Free $4
        System::Free $5
        ${If} $6 = 0
          ${IPropertyStore::Commit} $3 '().r6'
        ${EndIf}
        ${If} $6 = 0
          ${IPersistFile::Save} $2 '("$0",1).r6'
        ${EndIf}
        ${If} $6 = 0
          StrCpy $6 ""
        ${Else}
          StrCpy $6 "error $6"
        ${EndIf}
      ${EndIf}
      !insertmacro ComHlpr_SafeRelease $3
      ${IUnknown::Release} $2 ""
    ${EndIf}
    ${IUnknown::Release} $1 ""
  ${EndIf}
  ${If} $6 != ""
    DetailPrint "Could not give $0 Natter's app id ($6)."
  ${EndIf}
  Pop $6
  Pop $5
  Pop $4
  Pop $3
  Pop $2
  Pop $1
FunctionEnd

Section "Natter"
  SetOutPath "$INSTDIR"
  File "/oname=natter.exe" "${EXE}"
  ; The picture toasts show beside Natter's name.
  File "/oname=natter.png" "..\..\assets\natter.png"
  WriteUninstaller "$INSTDIR\uninstall.exe"
  CreateDirectory "$SMPROGRAMS\Natter"
  CreateShortcut "$SMPROGRAMS\Natter\Natter.lnk" "$INSTDIR\natter.exe"
  StrCpy $0 "$SMPROGRAMS\Natter\Natter.lnk"
  Call StampAppId
  CreateShortcut "$SMPROGRAMS\Natter\Host a room.lnk" "$INSTDIR\natter.exe" "--host"
  StrCpy $0 "$SMPROGRAMS\Natter\Host a room.lnk"
  Call StampAppId
  ; Windows shows toasts only from a registered id: under Natter's name, with its icon.
  WriteRegStr HKCU "${AUMID_KEY}" "DisplayName" "Natter"
  WriteRegExpandStr HKCU "${AUMID_KEY}" "IconUri" "$INSTDIR\natter.png"
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
  Delete "$INSTDIR\natter.png"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
  DeleteRegKey HKCU "${UNINSTALL_KEY}"
  DeleteRegKey HKCU "${AUMID_KEY}"
SectionEnd
