#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#define M (1ul<<20)
static void st(const char*tag, unsigned long a){
 char b[1<<16]; FILE*f=fopen("/proc/self/smaps","r"); size_t n=fread(b,1,sizeof b-1,f); b[n]=0; fclose(f);
 char k[32]; snprintf(k,32,"%lx-",a); char*p=strstr(b,k); if(!p){printf("%s nf\n",tag);return;}
 printf("%s rss=%ld ahp=%ld\n",tag,strtol(strstr(p,"Rss:")+4,0,10),strtol(strstr(p,"AnonHugePages:")+14,0,10));}
int main(){ char*a=mmap((void*)0x40000000,4*M,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 madvise(a,4*M,MADV_HUGEPAGE); a[1]=1; a[2*M+1]=2; st("before",0x40000000);
 char*t=mremap(a,4*M,4*M,MREMAP_MAYMOVE|MREMAP_FIXED,(void*)(0x40000000+32*M)); st("aligned",(unsigned long)t);
 char*u=mremap(t,4*M,4*M,MREMAP_MAYMOVE|MREMAP_FIXED,(void*)(0x40000000+64*M+4096)); st("unaligned",(unsigned long)u);
 printf("%d %d\n",u[1],u[2*M+1]); return 0;}
