#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#define M (1ul<<20)
static long rss(char*a){char b[1<<16];FILE*f=fopen("/proc/self/smaps","r");size_t n=fread(b,1,sizeof b-1,f);b[n]=0;fclose(f);
 char k[32];snprintf(k,32,"%lx-",(unsigned long)a);char*p=strstr(b,k);return strtol(strstr(p,"Rss:")+4,0,10);}
int main(){ char*a=mmap((void*)0x40000000,2*M,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 madvise(a,2*M,MADV_HUGEPAGE); volatile char c=a[3]; (void)c; printf("rss after read %ld\n",rss(a));
 int r=madvise(a,2*M,25); printf("collapse r=%d rss=%ld\n",r,rss(a)); return 0;}
