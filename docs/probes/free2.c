#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static long lf(char*a){
 char b[1<<16]; FILE*f=fopen("/proc/self/smaps","r"); size_t n=fread(b,1,sizeof b-1,f); b[n]=0; fclose(f);
 char k[32]; snprintf(k,32,"%lx-",(unsigned long)a); char*p=strstr(b,k); return strtol(strstr(p,"LazyFree:")+9,0,10);}
int main(int argc,char**argv){ int what=atoi(argv[1]); int np=atoi(argv[2]);
 char*a=mmap((void*)0x40000000,64*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0);
 char*o=mmap((void*)0x50000000,4*4096,PROT_READ|PROT_WRITE,MAP_PRIVATE|MAP_ANONYMOUS|MAP_FIXED,-1,0); o[0]=1;
 memset(a,1,np*4096); madvise(a,np*4096,MADV_FREE); long l0=lf(a);
 switch(what){case 1: munmap(o+4096,4096); break; case 2: mprotect(o,4096,PROT_READ); break; case 3: mmap((void*)0x60000000,4096,PROT_READ,MAP_PRIVATE|MAP_ANONYMOUS,-1,0); break;
  case 4: { pid_t p=fork(); if(!p) _exit(0); waitpid(p,0,0); break;} case 5: mlock(o,4096); break; case 6: madvise(o,4096,MADV_DONTNEED); break; case 7: madvise(o,4096,MADV_FREE); break; case 8: munmap(a+60*4096,4096); break; case 9: madvise(o,4096,MADV_COLD); break; case 10: sleep(1); break;}
 printf("what=%d np=%d lazyfree %ld -> %ld\n",what,np,l0,lf(a)); return 0;}
