#include <stdio.h>
int main(void) { puts("ohlcx " OHLCX_VERSION); return 0; }
