/* A stand-in for Windows' bcryptprimitives.dll, for running Natter's Windows build under Wine
 * 8 (Debian 12's wine64) only: Rust's std (1.78 and later) gets its random numbers from
 * ProcessPrng, which Wine added in 9.0. This one takes them from RtlGenRandom
 * (SystemFunction036 in advapi32), which Wine 8 has. Never shipped to Windows users: Windows 10
 * and later have the real DLL. Built by scripts/wine/setup.sh with mingw-w64. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
