#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
#define M (1ul<<20)
#define MADV_COLLAPSE 25
#define MADV_GUARD_INSTALL 102
static void st(const char*tag, char *base, size_t len){
 char b[1<<16]; FILE*f=fopen("/proc/self/smaps","r"); size_t n=fread(b,1,sizeof b-1,f); b[n]=0; fclose(f);
 unsigned long rss=0,ahp=0,pd=0; char *p=b;
 while((p=strchr(p,'\n'))){p++; unsigned long s,e; if(sscanf(p,"%lx-%lx ",&s,&e)==2 && s>=(unsigned long)base && e<=(unsigned long)base+len){
   char*q=strstr(p,"Rss:"); rss+=strtoul(q+4,0,10); q=strstr(p,"Private_Dirty:"); pd+=strtoul(q+14,0,10);
   q=strstr(p,"AnonHugePages:"); ahp+=strtoul(q+14,0,10);}}
 printf("%-34s rss=%lu pd=%lu ahp=%lu\n",tag,rss,pd,ahp); fflush(stdout);}
static char *region(int prot){ char *raw=mmap(0,4*M,prot,MAP_PRIVATE|MAP_ANONYMOUS,-1,0);
 char *a=(char*)(((unsigned long)raw+2*M-1)&~(2*M-1)); munmap(raw,a-raw); munmap(a+2*M,raw+4*M-(a+2*M)); return a;}
#define C(tag,a) do{ int r=madvise(a,2*M,MADV_COLLAPSE); printf("%-34s collapse r=%d errno=%s\n",tag,r,r?strerror(errno):"-"); st(tag,a,2*M);}while(0)
int main(){
 char *a;
 a=region(PROT_READ|PROT_WRITE); a[0]=1; madvise(a,4096,MADV_DONTNEED); C("(0) anon_vma, table, all none",a);
 a=region(PROT_READ|PROT_WRITE); mprotect(a,4096,PROT_READ); mprotect(a,4096,PROT_READ|PROT_WRITE); a[0]=1; C("(a') one page written",a);
 a=region(PROT_READ|PROT_WRITE); volatile char c=a[0]; a[4096]=1; C("(c) zero page + 1 written",a);
 a=region(PROT_READ|PROT_WRITE); c=a[0]; c=a[8192]; madvise(a,2*M,MADV_NOHUGEPAGE); madvise(a,2*M,MADV_NORMAL); C("(c2) only zero pages, no anon_vma",a);
 a=region(PROT_READ|PROT_WRITE); a[0]=1; c=a[4096]; mprotect(a,2*M,PROT_READ); C("(h) read-only VMA with pages",a);
 a=region(PROT_READ|PROT_WRITE); a[0]=1; madvise(a+8192,4096,MADV_GUARD_INSTALL); C("(g) guard marker",a);
 a=region(PROT_READ|PROT_WRITE); memset(a,1,100*4096); pid_t p=fork(); if(!p){ sleep(1); _exit(0);} C("(e) shared with child",a); kill(p,9); waitpid(p,0,0);
 a=region(PROT_READ|PROT_WRITE); madvise(a,2*M,MADV_HUGEPAGE); a[0]=1; C("(f) already huge",a);
 a=region(PROT_READ|PROT_WRITE); a[0]=1; mlock(a,2*M); C("(l) locked",a);
 a=region(PROT_NONE); mprotect(a,2*M,PROT_READ|PROT_WRITE); a[5]=1; mprotect(a,2*M,PROT_NONE); C("(n) PROT_NONE",a);
 return 0;}
